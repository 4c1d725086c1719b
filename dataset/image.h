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

// The largest image the decoders take: 65535 on a side and 2^26 pixels
// (8192 x 8192; 192 MiB as RGB).  A JPEG or PNG header of a few bytes can
// claim 65535 x 65535 (12 GiB): the decoders refuse it before they
// allocate.  Re-identification crops are far smaller.
constexpr int64_t kMaxImageSide = 65535;
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Empty when `width` x `height` is an image the decoders take; else why not.
inline std::string image_size_problem(int64_t width, int64_t height) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide) return "size " + size;
  if (width * height > kMaxImagePixels) {
    return "size " + size + " is more than the " + std::to_string(kMaxImagePixels) + " pixels an image may have";
  }
  return "";
}

// A file that is missing, unreadable, or not a decodable image; the message
// starts with the file's path.
class ImageFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rfm::dataset
