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

// The draws of one image: mirrored or not, and the crop window's offset in
// the padded image, each in [0, 2 * pad].
struct TrainTransformDraw {
  bool flip = false;
  int offset_y = 0, offset_x = 0;
};
TrainTransformDraw draw_train_transform(const TrainTransformOptions& options, uint64_t seed);

dataset::ImageU8 apply_train_transform(const dataset::ImageU8& image, const TrainTransformOptions& options, uint64_t seed);

// The same transform written straight into planar (CHW) memory: one pass,
// no intermediate image; what the loader runs per image.
void write_transformed_chw(const dataset::ImageU8& image, const TrainTransformOptions& options, uint64_t seed,
                           uint8_t* chw);

// dataset::resize_bilinear of an RGB image to height x width followed by
// write_transformed_chw, bit for bit, in one pass: the resize computes only
// the pixels the crop keeps and writes them, mirrored or not, straight into
// the planes.  What the loader runs on every decoded file.  A one-channel
// (grey) source gives what its RGB expansion gives: the channel is resized
// once and its plane copied to the other two.
void write_resized_transformed_chw(const dataset::ImageU8& source, int height, int width,
                                   const TrainTransformOptions& options, uint64_t seed, uint8_t* chw);

}  // namespace rfm::loader
