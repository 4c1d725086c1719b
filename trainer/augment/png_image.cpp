#include "trainer/augment/png_image.h"

#include <cstring>

#include "dataset/image_codec.h"

namespace rfm::augment {

torch::Tensor read_png_rgb(const std::string& path) {
  const dataset::ImageU8 image = dataset::read_image_file(path);
  auto hwc = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels},
                              torch::kUInt8);
  return hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0).contiguous();
}

void write_png_rgb(const std::string& path, const torch::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3) {
    throw dataset::ImageFileError(path + ": expected a [3, H, W] image to write");
  }
  auto hwc = image.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1).mul(255).round().to(torch::kUInt8)
                 .permute({1, 2, 0}).contiguous();
  dataset::ImageU8 out(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), 3);
  std::memcpy(out.pixels.data(), hwc.data_ptr<uint8_t>(), out.bytes());
  dataset::write_image_file(path, out);
}

}  // namespace rfm::augment
