#pragma once
// Control messages on a byte stream: each payload (a serialized
// SignedMessage, message_auth.h) is preceded by its size as a varint
// (protobuf's delimited format), so a reader can cut a TCP stream into
// messages without any other framing.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace rfm::control {

// A stream that is not control messages (a wrong port, a corrupt peer).
class FramingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Messages larger than this are refused: a garbage length must not make
// the reader allocate gigabytes.
constexpr size_t kMaxMessageBytes = 1 << 20;

std::string frame(const std::string& payload);

// Collects bytes as they arrive and hands out whole payloads.
class FrameReader {
 public:
  // FramingError when the bytes buffered but not yet handed out would pass
  // kMaxMessageBytes: a peer that never finishes a frame.
  void append(const char* data, size_t size);
  // True and `payload` filled when a whole frame is buffered.
  bool next(std::string* payload);

 private:
  std::string buffer_;
};

}  // namespace rfm::control
