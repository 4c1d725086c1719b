#pragma once
// The loader's per-image augmentation on uint8 images already at the
// network's size: random horizontal flip, then zero padding and a random
// crop back to the size (the reference code's Pad(10) + RandomCrop).  LTG
// and mean/std normalisation come later, on the batch's device.  The draws
// come from the seed alone, so an image is augmented the same way whichever
// rank or thread handles it.

#include <cstdint>

#include "dataset/image.h"

namespace rfm::loader {

struct TrainTransformOptions {
  bool horizontal_flip = true;
  int pad = 10;
};

data::ImageU8 apply_train_transform(const data::ImageU8& image, const TrainTransformOptions& options, uint64_t seed);

}  // namespace rfm::loader
