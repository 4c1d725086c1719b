#pragma once
// Bilinear resize with antialiasing when shrinking (the triangle filter
// widened by the scale factor, as PIL's and torch's antialiased bilinear
// do), so that a 384x192 target looks the same whether the source was
// larger or smaller.  Separable: rows, then columns, in float.

#include "dataset/image.h"

namespace rfm::data {

ImageU8 resize_bilinear(const ImageU8& image, int height, int width);

}  // namespace rfm::data
