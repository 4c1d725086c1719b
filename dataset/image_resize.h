#pragma once
// Bilinear resize with antialiasing when shrinking (the triangle filter
// widened by the scale factor, as PIL's and torch's antialiased bilinear
// do), so that a 384x192 target looks the same whether the source was
// larger or smaller.  Separable: rows, then columns, in float.

#include <cstddef>
#include <cstdint>

#include "dataset/image.h"

namespace rfm::dataset {

ImageU8 resize_bilinear(const ImageU8& image, int height, int width);

// std::lround(x) clamped to [0, 255], exactly, for any finite x, without
// the libm call (which was a fifth of the loader's time): the sum in double
// is exact for these magnitudes, so truncating it is floor(x + 0.5) for
// x >= 0, and negatives end at 0 either way.  Loops over it vectorise (the
// clamp is an integer min/max); a float-only form with selects did not.
inline uint8_t round_to_u8(float x) {
  const int r = static_cast<int>(static_cast<double>(x) + 0.5);
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// Where resize_bilinear_into_planes puts a window of the resized image:
// resized pixel (y, x), for y in [row_begin, row_end) and x in
// [col_begin, col_end), channel c, goes to
//   planes[c * plane_stride + (y + row_shift) * row_stride + column]
// with column = mirror ? col_origin - x : col_origin + x.
struct PlanarWindow {
  int row_begin = 0, row_end = 0;
  int col_begin = 0, col_end = 0;
  int row_shift = 0;
  int col_origin = 0;
  bool mirror = false;
  size_t row_stride = 0;
  size_t plane_stride = 0;
};

// resize_bilinear followed by copying the window into planar memory, bit
// for bit, in one go: only the window's pixels are computed and there is
// no intermediate image.  What the loader runs on every decoded file.
void resize_bilinear_into_planes(const ImageU8& image, int height, int width, const PlanarWindow& window,
                                 uint8_t* planes);

}  // namespace rfm::dataset
