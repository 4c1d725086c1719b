#include "control/framing.h"

#include <cstdint>

namespace rfm::control {

std::string frame(const std::string& payload) {
  std::string out;
  uint64_t size = payload.size();
  do {
    uint8_t byte = size & 0x7f;
    size >>= 7;
    if (size != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (size != 0);
  return out + payload;
}

void FrameReader::append(const char* data, size_t size) {
  // One whole frame and its length prefix at most: a stream that would
  // buffer more is not handing out its frames.
  if (buffer_.size() + size > kMaxMessageBytes + 5 + 4096) {
    throw FramingError("control stream: more than " + std::to_string(kMaxMessageBytes) + " bytes without a whole message");
  }
  buffer_.append(data, size);
}

bool FrameReader::next(std::string* payload) {
  uint64_t size = 0;
  size_t header = 0;
  for (;; ++header) {
    if (header >= buffer_.size()) return false;  // the varint is not complete yet
    if (header >= 5) throw FramingError("control stream: malformed length prefix");
    const auto byte = static_cast<uint8_t>(buffer_[header]);
    size |= static_cast<uint64_t>(byte & 0x7f) << (7 * header);
    if ((byte & 0x80) == 0) break;
  }
  ++header;
  if (size > kMaxMessageBytes) throw FramingError("control stream: message of " + std::to_string(size) + " bytes");
  if (buffer_.size() < header + size) return false;
  payload->assign(buffer_, header, size);
  buffer_.erase(0, header + size);
  return true;
}

}  // namespace rfm::control
