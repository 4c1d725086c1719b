#include "dataset/image_resize.h"

#include <algorithm>
#include <cmath>

namespace rfm::data {
namespace {

// For each output index, the first input index and normalised weights of
// the triangle filter centred on it (support 1, widened by the scale when
// shrinking).
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;  // out * max_taps
  int max_taps = 0;
};

Taps taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = scale > 1.0 ? scale : 1.0;
  const double inv = 1.0 / support;
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.max_taps, 0.f);
  for (int o = 0; o < out_size; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(centre - support + 0.5));
    const int hi = std::min(in_size, static_cast<int>(centre + support + 0.5));
    double total = 0.0;
    std::vector<double> w;
    for (int i = lo; i < hi; ++i) {
      const double d = std::abs((i + 0.5 - centre) * inv);
      w.push_back(d < 1.0 ? 1.0 - d : 0.0);
      total += w.back();
    }
    t.first[o] = lo;
    t.count[o] = static_cast<int>(w.size());
    for (size_t k = 0; k < w.size(); ++k) {
      t.weights[static_cast<size_t>(o) * t.max_taps + k] = static_cast<float>(total > 0 ? w[k] / total : 0.0);
    }
  }
  return t;
}

}  // namespace

ImageU8 resize_bilinear(const ImageU8& image, int height, int width) {
  if (height <= 0 || width <= 0) throw std::invalid_argument("resize_bilinear: empty target size");
  if (image.height == height && image.width == width) return image;
  const int c = image.channels;
  if (c < 1 || c > 4) throw std::invalid_argument("resize_bilinear: 1 to 4 channels");
  const Taps tx = taps(image.width, width), ty = taps(image.height, height);
  // Rows first: [in_h, width, c] in float.
  std::vector<float> rows(static_cast<size_t>(image.height) * width * c);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < width; ++x) {
      float acc[4] = {0, 0, 0, 0};
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
      for (int k = 0; k < tx.count[x]; ++k) {
        const uint8_t* p = image.at(y, tx.first[x] + k);
        for (int ch = 0; ch < c; ++ch) acc[ch] += w[k] * p[ch];
      }
      float* out = &rows[(static_cast<size_t>(y) * width + x) * c];
      for (int ch = 0; ch < c; ++ch) out[ch] = acc[ch];
    }
  }
  ImageU8 out(height, width, c);
  for (int y = 0; y < height; ++y) {
    const float* w = &ty.weights[static_cast<size_t>(y) * ty.max_taps];
    for (int x = 0; x < width; ++x) {
      float acc[4] = {0, 0, 0, 0};
      for (int k = 0; k < ty.count[y]; ++k) {
        const float* p = &rows[(static_cast<size_t>(ty.first[y] + k) * width + x) * c];
        for (int ch = 0; ch < c; ++ch) acc[ch] += w[k] * p[ch];
      }
      uint8_t* o = out.at(y, x);
      for (int ch = 0; ch < c; ++ch) o[ch] = static_cast<uint8_t>(std::clamp(std::lround(acc[ch]), 0L, 255L));
    }
  }
  return out;
}

}  // namespace rfm::data
