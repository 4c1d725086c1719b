#include "dataset/image_resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

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

// Rounds half away from zero and clamps to [0, 255]: std::lround's result
// for every float the filters produce, without the libm call (a fifth of
// the loader's time).  The sum in double is exact for these magnitudes, so
// truncating it is floor(x + 0.5) for x >= 0; negatives end at 0 either way.
inline uint8_t to_u8(float x) {
  return static_cast<uint8_t>(std::clamp(static_cast<int>(static_cast<double>(x) + 0.5), 0, 255));
}

// Each accumulation below adds w[k] * p in increasing k, from 0, in float,
// exactly as the textbook two-pass loop does: the result is bit-identical
// to it (tests/test_image_codec.cpp keeps that loop as the reference).
template <int C>
void resize_rows(const ImageU8& image, const Taps& tx, int width, float* rows) {
  std::vector<float> line(static_cast<size_t>(image.width) * C);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = image.at(y, 0);
    for (size_t i = 0; i < line.size(); ++i) line[i] = src[i];
    float* out = rows + static_cast<size_t>(y) * width * C;
    for (int x = 0; x < width; ++x) {
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
      const float* p = &line[static_cast<size_t>(tx.first[x]) * C];
      float acc[C] = {};
      for (int k = 0; k < tx.count[x]; ++k) {
        for (int ch = 0; ch < C; ++ch) acc[ch] += w[k] * p[k * C + ch];
      }
      for (int ch = 0; ch < C; ++ch) out[x * C + ch] = acc[ch];
    }
  }
}

// Cloned for AVX2 where the CPU has it (chosen at load time); no FMA, so the
// sums round as in the baseline build.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void resize_columns(const float* rows, const Taps& ty, int height, int row_floats, uint8_t* out) {
  std::vector<float> acc(static_cast<size_t>(row_floats));
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.f);
    const float* w = &ty.weights[static_cast<size_t>(y) * ty.max_taps];
    for (int k = 0; k < ty.count[y]; ++k) {
      const float wk = w[k];
      const float* src = rows + static_cast<size_t>(ty.first[y] + k) * row_floats;
      float* a = acc.data();
#pragma omp simd
      for (int j = 0; j < row_floats; ++j) a[j] += wk * src[j];
    }
    uint8_t* o = out + static_cast<size_t>(y) * row_floats;
#pragma omp simd
    for (int j = 0; j < row_floats; ++j) o[j] = to_u8(acc[j]);
  }
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
  switch (c) {
    case 1: resize_rows<1>(image, tx, width, rows.data()); break;
    case 2: resize_rows<2>(image, tx, width, rows.data()); break;
    case 3: resize_rows<3>(image, tx, width, rows.data()); break;
    default: resize_rows<4>(image, tx, width, rows.data()); break;
  }
  ImageU8 out(height, width, c);
  resize_columns(rows.data(), ty, height, width * c, out.pixels.data());
  return out;
}

}  // namespace rfm::data
