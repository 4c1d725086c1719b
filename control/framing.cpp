#include "control/framing.h"

#include <cstdint>

namespace rfm::control {

std::string frame(const ControlMessage& message) {
  std::string body = message.SerializeAsString();
  std::string out;
  uint64_t size = body.size();
  do {
    uint8_t byte = size & 0x7f;
    size >>= 7;
    if (size != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (size != 0);
  return out + body;
}

bool FrameReader::next(ControlMessage* out) {
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
  if (!out->ParseFromArray(buffer_.data() + header, static_cast<int>(size))) {
    throw FramingError("control stream: unparseable message");
  }
  buffer_.erase(0, header + size);
  return true;
}

}  // namespace rfm::control
