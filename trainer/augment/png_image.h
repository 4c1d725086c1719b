#pragma once
// PNG files to and from float tensors in [0, 1] (libpng's simplified API).

#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace rfm::augment {

class ImageFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// [3, H, W] float in [0, 1]; grey or palette files are expanded to RGB.
torch::Tensor read_png_rgb(const std::string& path);

// image: [3, H, W] float in [0, 1] (clamped), written as 8-bit RGB.
void write_png_rgb(const std::string& path, const torch::Tensor& image);

}  // namespace rfm::augment
