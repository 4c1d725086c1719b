#include "dataset/image_resize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace rfm::dataset {
namespace {

// For each output index, the first input index and normalised weights of
// the triangle filter centred on it (support 1, widened by the scale when
// shrinking).  Weights past an output's count are zero, so a loop may run
// up to max_taps of them and add nothing.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;  // out * max_taps
  int max_taps = 0;            // the weights' stride
  int max_count = 0;           // the largest count
};

Taps compute_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = scale > 1.0 ? scale : 1.0;
  const double inv = 1.0 / support;
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.max_taps, 0.f);
  std::vector<double> w;
  for (int o = 0; o < out_size; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(centre - support + 0.5));
    const int hi = std::min(in_size, static_cast<int>(centre + support + 0.5));
    double total = 0.0;
    w.clear();
    for (int i = lo; i < hi; ++i) {
      const double d = std::abs((i + 0.5 - centre) * inv);
      w.push_back(d < 1.0 ? 1.0 - d : 0.0);
      total += w.back();
    }
    // Zero-weight taps at either end add +0 to a sum that starts at +0,
    // so leaving them out changes no bit; it takes an enlargement from 3
    // taps to 2 (the triangle covers at most 2 pixel centres).
    size_t skip = 0, keep = w.size();
    while (skip < keep && w[skip] == 0.0) ++skip;
    while (keep > skip && w[keep - 1] == 0.0) --keep;
    t.first[o] = lo + static_cast<int>(skip);
    t.count[o] = static_cast<int>(keep - skip);
    t.max_count = std::max(t.max_count, t.count[o]);
    for (size_t k = skip; k < keep; ++k) {
      t.weights[static_cast<size_t>(o) * t.max_taps + (k - skip)] = static_cast<float>(total > 0 ? w[k] / total : 0.0);
    }
  }
  return t;
}

// A dataset has a handful of image sizes and one target, so each thread
// keeps the filters it last built instead of rebuilding two per image.
std::shared_ptr<const Taps> taps(int in_size, int out_size) {
  struct Entry {
    int in = 0, out = 0;
    std::shared_ptr<const Taps> taps;
  };
  thread_local std::array<Entry, 8> cache;
  thread_local size_t next = 0;
  for (const auto& e : cache) {
    if (e.taps && e.in == in_size && e.out == out_size) return e.taps;
  }
  auto t = std::make_shared<const Taps>(compute_taps(in_size, out_size));
  cache[next] = Entry{in_size, out_size, t};
  next = (next + 1) % cache.size();
  return t;
}

// Every sum below adds w[k] * p in increasing k, from 0, in float, exactly
// as the textbook two-pass loop does, and the file is built without FMA
// contraction: the result is bit-identical to that loop
// (tests/test_image_codec.cpp keeps it as the reference).  Where a loop
// runs past an output's count of taps it adds w = 0 times a finite pixel,
// which is +0 and leaves the sum as it was.

// The input row in float, followed by zeros for the taps past its end.
const float* float_line(const uint8_t* src, int floats, int padding, std::vector<float>& line) {
  line.resize(static_cast<size_t>(floats + padding));
  float* l = line.data();
#pragma omp simd
  for (int i = 0; i < floats; ++i) l[i] = src[i];
  std::fill(l + floats, l + floats + padding, 0.f);
  return l;
}

// Cloned for AVX-512 and AVX2 where the CPU has them (chosen at load time);
// no FMA, so the sums round as in the baseline build.
#if defined(__x86_64__) && defined(__GNUC__)
#define RFM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RFM_SIMD_CLONES
#endif

// The rows pass writes planes: channel ch of resized column x (in [c0, c1))
// for input row y (in [r0, r1)) goes to
//   rows[ch * plane + (y - r0) * (c1 - c0) + (x - c0)],  plane = (r1 - r0) * (c1 - c0),
// so that the columns pass and the final rounding run over contiguous floats.
template <int C>
void resize_rows(const ImageU8& image, const Taps& tx, int c0, int c1, int r0, int r1, float* rows) {
  thread_local std::vector<float> line;
  const size_t n = static_cast<size_t>(c1 - c0), plane = n * static_cast<size_t>(r1 - r0);
  for (int y = r0; y < r1; ++y) {
    const float* l = float_line(image.at(y, 0), image.width * C, 0, line);
    float* out = rows + static_cast<size_t>(y - r0) * n;
    for (int x = c0; x < c1; ++x) {
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
      const float* p = l + static_cast<size_t>(tx.first[x]) * C;
      float acc[C] = {};
      for (int k = 0; k < tx.count[x]; ++k) {
        for (int ch = 0; ch < C; ++ch) acc[ch] += w[k] * p[k * C + ch];
      }
      for (int ch = 0; ch < C; ++ch) out[ch * plane + static_cast<size_t>(x - c0)] = acc[ch];
    }
  }
}

// One row of the rows pass for one channel (a grey image's) with exactly
// two taps, every enlargement's case: out[x - c0] = w0 * p0 + w1 * p1,
// which is the generic loop's +0 + w0 * p0 + w1 * p1 (w, p >= 0, so the
// first product is never -0).  A simd loop over x with gathered pixels;
// the generic loop ran one output at a time.
RFM_SIMD_CLONES void grey_row_two_taps(const float* line, const int* first, const float* weights, int max_taps,
                                      int c0, int c1, float* out) {
#pragma omp simd
  for (int x = c0; x < c1; ++x) {
    const float* w = weights + static_cast<ptrdiff_t>(x) * max_taps;
    const float* p = line + first[x];
    out[x - c0] = w[0] * p[0] + w[1] * p[1];
  }
}

void resize_rows_grey_two_taps(const ImageU8& image, const Taps& tx, int c0, int c1, int r0, int r1, float* rows) {
  thread_local std::vector<float> line;
  const size_t n = static_cast<size_t>(c1 - c0);
  for (int y = r0; y < r1; ++y) {
    // An output's second tap may lie one past the row (its weight is 0).
    const float* l = float_line(image.at(y, 0), image.width, 1, line);
    grey_row_two_taps(l, tx.first.data(), tx.weights.data(), tx.max_taps, c0, c1,
                      rows + static_cast<size_t>(y - r0) * n);
  }
}

// Rows pass for RGB, the loader's case: a pixel's three channels ride in
// one 4-float vector (the fourth lane is the next pixel's red, computed and
// dropped), and every output runs max_count taps (zero weights past its
// own), so the loop has no data-dependent trip count.  KT is the tap count
// when known at compile time (2 for any enlargement), else 0.
using Float4 = float __attribute__((vector_size(16)));
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int KT>
void resize_rows_rgb(const ImageU8& image, const Taps& tx, int c0, int c1, int r0, int r1, float* rows) {
  thread_local std::vector<float> line;
  const int taps_run = KT > 0 ? KT : std::max(1, tx.max_count);
  const size_t n = static_cast<size_t>(c1 - c0), plane = n * static_cast<size_t>(r1 - r0);
  for (int y = r0; y < r1; ++y) {
    // first[x] + taps_run <= width + taps_run pixels, plus the fourth lane.
    const float* l = float_line(image.at(y, 0), image.width * 3, taps_run * 3 + 1, line);
    float* red = rows + static_cast<size_t>(y - r0) * n;
    float* green = red + plane;
    float* blue = green + plane;
    for (int x = c0; x < c1; ++x) {
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
      const float* p = l + static_cast<size_t>(tx.first[x]) * 3;
      Float4 acc = Float4{w[0], w[0], w[0], w[0]} * load4(p);
      for (int k = 1; k < taps_run; ++k) acc += Float4{w[k], w[k], w[k], w[k]} * load4(p + 3 * k);
      const size_t i = static_cast<size_t>(x - c0);
      red[i] = acc[0];
      green[i] = acc[1];
      blue[i] = acc[2];
    }
  }
}

// One output row of one plane in the columns pass: acc[j] = sum_k w[k] * rows[k][j].
RFM_SIMD_CLONES void column_sums(const float* rows, size_t n, const float* w, int count, float* acc) {
  std::fill(acc, acc + n, 0.f);
  for (int k = 0; k < count; ++k) {
    const float wk = w[k];
    const float* src = rows + static_cast<size_t>(k) * n;
#pragma omp simd
    for (size_t j = 0; j < n; ++j) acc[j] += wk * src[j];
  }
}

RFM_SIMD_CLONES void store_row(const float* acc, int n, bool mirror, uint8_t* out) {
  if (mirror) {
    // out points at the column of acc[0]; the row runs leftwards.
#pragma omp simd
    for (int i = 0; i < n; ++i) *(out - i) = round_to_u8(acc[i]);
  } else {
#pragma omp simd
    for (int i = 0; i < n; ++i) out[i] = round_to_u8(acc[i]);
  }
}

// One output row of one plane, rounded to bytes and stored, leftwards from
// `out` when mirrored.  Two taps (every enlargement) need no float row in
// memory: w0 * a + w1 * b is column_sums' +0 + w0 * a + w1 * b, since the
// row sums and weights are >= 0 and the first product is never -0.  Other
// counts go through `scratch`.
RFM_SIMD_CLONES void column_row_to_u8(const float* rows, size_t n, const float* w, int count, bool mirror, uint8_t* out,
                                     float* scratch) {
  if (count == 2) {
    const float w0 = w[0], w1 = w[1];
    const float* a = rows;
    const float* b = rows + n;
    if (mirror) {
#pragma omp simd
      for (size_t i = 0; i < n; ++i) *(out - i) = round_to_u8(w0 * a[i] + w1 * b[i]);
    } else {
#pragma omp simd
      for (size_t i = 0; i < n; ++i) out[i] = round_to_u8(w0 * a[i] + w1 * b[i]);
    }
    return;
  }
  column_sums(rows, n, w, count, scratch);
  store_row(scratch, static_cast<int>(n), mirror, out);
}

// Resizes the window [y0, y1) x [x0, x1) of the height x width result.  For
// each output row y and channel ch it hands the columns pass's inputs to
// `sink(y, ch, rows, n, w, count)`: the output row is
// sum_k w[k] * rows[k * n + j] for j < n (column_sums), and the sink decides
// where it goes.
template <class Sink>
void resize_window(const ImageU8& image, int height, int width, int y0, int y1, int x0, int x1, Sink&& sink) {
  if (y0 >= y1 || x0 >= x1) return;
  const int c = image.channels;
  const auto tx = taps(image.width, width);
  const auto ty = taps(image.height, height);
  // The input rows that the window's output rows read.
  const int r0 = ty->first[static_cast<size_t>(y0)];
  int r1 = r0;
  for (int y = y0; y < y1; ++y) {
    const size_t row = static_cast<size_t>(y);
    r1 = std::max(r1, ty->first[row] + ty->count[row]);
  }
  const size_t n = static_cast<size_t>(x1 - x0), plane = n * static_cast<size_t>(r1 - r0);
  thread_local std::vector<float> rows;
  rows.resize(plane * c);
  switch (c) {
    case 1:
      if (tx->max_count == 2) {
        resize_rows_grey_two_taps(image, *tx, x0, x1, r0, r1, rows.data());
      } else {
        resize_rows<1>(image, *tx, x0, x1, r0, r1, rows.data());
      }
      break;
    case 2: resize_rows<2>(image, *tx, x0, x1, r0, r1, rows.data()); break;
    case 3:
      if (tx->max_count == 2) {
        resize_rows_rgb<2>(image, *tx, x0, x1, r0, r1, rows.data());
      } else if (tx->max_count == 3) {
        resize_rows_rgb<3>(image, *tx, x0, x1, r0, r1, rows.data());
      } else {
        resize_rows_rgb<0>(image, *tx, x0, x1, r0, r1, rows.data());
      }
      break;
    default: resize_rows<4>(image, *tx, x0, x1, r0, r1, rows.data()); break;
  }
  for (int y = y0; y < y1; ++y) {
    const size_t row = static_cast<size_t>(y);
    const float* w = &ty->weights[row * static_cast<size_t>(ty->max_taps)];
    const size_t first = static_cast<size_t>(ty->first[row] - r0) * n;
    for (int ch = 0; ch < c; ++ch) sink(y, ch, rows.data() + ch * plane + first, n, w, ty->count[row]);
  }
}

void check_target(const ImageU8& image, int height, int width, const char* who) {
  if (height <= 0 || width <= 0) throw std::invalid_argument(std::string(who) + ": empty target size");
  if (image.channels < 1 || image.channels > 4) throw std::invalid_argument(std::string(who) + ": 1 to 4 channels");
  if (image.height <= 0 || image.width <= 0) throw std::invalid_argument(std::string(who) + ": empty image");
}

}  // namespace

ImageU8 resize_bilinear(const ImageU8& image, int height, int width) {
  check_target(image, height, width, "resize_bilinear");
  if (image.height == height && image.width == width) return image;
  const int c = image.channels;
  ImageU8 out(height, width, c);
  std::vector<float> acc(static_cast<size_t>(width));
  resize_window(image, height, width, 0, height, 0, width,
                [&](int y, int ch, const float* rows, size_t n, const float* w, int count) {
                  column_sums(rows, n, w, count, acc.data());
                  uint8_t* o = out.at(y, 0) + ch;
                  for (int x = 0; x < width; ++x) o[x * c] = round_to_u8(acc[static_cast<size_t>(x)]);
                });
  return out;
}

void resize_bilinear_into_planes(const ImageU8& image, int height, int width, const PlanarWindow& window,
                                 uint8_t* planes) {
  check_target(image, height, width, "resize_bilinear_into_planes");
  const auto& w = window;
  if (w.row_begin < 0 || w.row_end > height || w.col_begin < 0 || w.col_end > width) {
    throw std::invalid_argument("resize_bilinear_into_planes: window outside the " + std::to_string(height) + "x" +
                                std::to_string(width) + " result");
  }
  const int n = w.col_end - w.col_begin;
  const ptrdiff_t first_column = w.mirror ? w.col_origin - w.col_begin : w.col_origin + w.col_begin;
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(n));
  resize_window(image, height, width, w.row_begin, w.row_end, w.col_begin, w.col_end,
                [&](int y, int ch, const float* rows, size_t count_n, const float* weights, int count) {
                  uint8_t* row = planes + static_cast<ptrdiff_t>(y + w.row_shift) * static_cast<ptrdiff_t>(w.row_stride);
                  column_row_to_u8(rows, count_n, weights, count, w.mirror,
                                   row + static_cast<ptrdiff_t>(ch) * static_cast<ptrdiff_t>(w.plane_stride) + first_column,
                                   scratch.data());
                });
}

}  // namespace rfm::dataset
