#pragma once
// An 8-bit image in memory, rows top to bottom, channels interleaved (HWC):
// what decoders produce, the pack stores and the loader turns into tensors.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rfm::dataset {

struct ImageU8 {
  int height = 0;
  int width = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;  // height * width * channels

  ImageU8() = default;
  ImageU8(int h, int w, int c, uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels(static_cast<size_t>(h) * w * c, fill) {}
  uint8_t* at(int y, int x) { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
  const uint8_t* at(int y, int x) const { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
  size_t bytes() const { return pixels.size(); }
};

// A file that is missing, unreadable, or not a decodable image; the message
// starts with the file's path.
class ImageFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rfm::dataset
