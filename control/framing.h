#pragma once
// Control messages on a byte stream: each ControlMessage is preceded by its
// size as a varint (protobuf's delimited format), so a reader can cut a TCP
// stream into messages without any other framing.

#include <cstddef>
#include <stdexcept>
#include <string>

#include "control.pb.h"

namespace rfm::control {

// A stream that is not control messages (a wrong port, a corrupt peer).
class FramingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Messages larger than this are refused: a garbage length must not make
// the reader allocate gigabytes.
constexpr size_t kMaxMessageBytes = 1 << 20;

std::string frame(const ControlMessage& message);

// Collects bytes as they arrive and hands out whole messages.
class FrameReader {
 public:
  void append(const char* data, size_t size) { buffer_.append(data, size); }
  // True and `out` filled when a whole message is buffered.
  bool next(ControlMessage* out);

 private:
  std::string buffer_;
};

}  // namespace rfm::control
