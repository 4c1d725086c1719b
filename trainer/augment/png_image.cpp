#include "trainer/augment/png_image.h"

#include <cstring>
#include <vector>

#include <png.h>

namespace rfm::augment {

torch::Tensor read_png_rgb(const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) {
    throw ImageFileError(path + ": cannot read PNG (" + img.message + ")");
  }
  img.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> buffer(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, buffer.data(), 0, nullptr)) {
    const std::string message = img.message;
    png_image_free(&img);
    throw ImageFileError(path + ": corrupt PNG (" + message + ")");
  }
  auto hwc = torch::from_blob(buffer.data(), {static_cast<int64_t>(img.height), static_cast<int64_t>(img.width), 3},
                              torch::kUInt8);
  return hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0).contiguous();
}

void write_png_rgb(const std::string& path, const torch::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3) throw ImageFileError(path + ": expected a [3, H, W] image to write");
  auto hwc = image.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1).mul(255).round().to(torch::kUInt8)
                 .permute({1, 2, 0}).contiguous();
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(hwc.size(1));
  img.height = static_cast<png_uint_32>(hwc.size(0));
  img.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&img, path.c_str(), 0, hwc.data_ptr<uint8_t>(), 0, nullptr)) {
    throw ImageFileError(path + ": cannot write PNG (" + img.message + ")");
  }
}

}  // namespace rfm::augment
