#pragma once
// Float images [3, H, W] in [0, 1] to and from files, through the dataset's
// codecs (dataset/image_codec.h): LTG's preview picture and its tests.
// Errors are dataset::ImageFileError, their message starting with the path.

#include <string>

#include <torch/torch.h>

#include "dataset/image.h"  // dataset::ImageFileError

namespace rfm::augment {

// Any image file the dataset reads (PNG, JPEG, BMP; grey and palette
// expanded to RGB), as [3, H, W] float in [0, 1].
torch::Tensor read_png_rgb(const std::string& path);

// image: [3, H, W] float in [0, 1] (clamped), written as 8-bit RGB PNG.
void write_png_rgb(const std::string& path, const torch::Tensor& image);

}  // namespace rfm::augment
