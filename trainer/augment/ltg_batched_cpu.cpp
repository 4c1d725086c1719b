#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "trainer/augment/ltg.h"

namespace rfm::augment {

namespace {

using Float8 = float __attribute__((vector_size(32)));
__attribute__((always_inline)) inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store8(float* p, Float8 v) { std::memcpy(p, &v, sizeof v); }
__attribute__((always_inline)) inline Float8 max8(Float8 a, Float8 b) { return a > b ? a : b; }

// The maximum of a rows x w block (row stride `stride`), exact in any order.
// Strips of 32 columns keep their maxima in four registers down all the
// rows, so no row waits on the previous row's store of the same column (as
// a column array in memory made it); a last 8-column strip ending at the
// block's right edge re-reads some columns, which max ignores.  Blocks under
// 8 wide go through `column` (w floats of scratch).
__attribute__((always_inline)) inline float region_maximum(const float* block, int stride, int rows, int w,
                                                           float* column) {
  if (w < 8) {
    std::fill(column, column + w, -1.0f);
    for (int y = 0; y < rows; ++y) {
      const float* row = block + static_cast<size_t>(y) * stride;
      for (int i = 0; i < w; ++i) column[i] = row[i] > column[i] ? row[i] : column[i];
    }
    return *std::max_element(column, column + w);
  }
  const Float8 low = {-1.f, -1.f, -1.f, -1.f, -1.f, -1.f, -1.f, -1.f};
  Float8 best = low;
  int i = 0;
  for (; i + 32 <= w; i += 32) {
    Float8 a = low, b = low, c = low, d = low;
    for (int y = 0; y < rows; ++y) {
      const float* p = block + static_cast<size_t>(y) * stride + i;
      a = max8(a, load8(p));
      b = max8(b, load8(p + 8));
      c = max8(c, load8(p + 16));
      d = max8(d, load8(p + 24));
    }
    best = max8(best, max8(max8(a, b), max8(c, d)));
  }
  for (; i < w; i += 8) {
    const int at = std::min(i, w - 8);
    Float8 a = low, b = low;
    int y = 0;
    for (; y + 2 <= rows; y += 2) {
      a = max8(a, load8(block + static_cast<size_t>(y) * stride + at));
      b = max8(b, load8(block + static_cast<size_t>(y + 1) * stride + at));
    }
    if (y < rows) a = max8(a, load8(block + static_cast<size_t>(y) * stride + at));
    best = max8(best, max8(a, b));
  }
  float m = best[0];
  for (int k = 1; k < 8; ++k) m = best[k] > m ? best[k] : m;
  return m;
}

// Scales a rows x w block of pixels by alpha, capped at 1 (std::min(p, 1),
// NaN included), and its block of M by alpha, and returns the smallest new
// M (or 2 if all are larger).  Each element is computed as by the
// reference; the minimum is exact in any order and is kept in registers per
// strip, as the maximum is.
__attribute__((always_inline)) inline float scale_region(float* pixels, float* memory, int stride, int rows, int w,
                                                         float alpha) {
  const Float8 scale = {alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha};
  const Float8 one = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
  const Float8 high = {2.f, 2.f, 2.f, 2.f, 2.f, 2.f, 2.f, 2.f};
  auto step = [&](float* p, float* m, Float8& lowest) {
    const Float8 v = load8(p) * scale;
    store8(p, one < v ? one : v);
    const Float8 n = load8(m) * scale;
    store8(m, n);
    lowest = n < lowest ? n : lowest;
  };
  Float8 best = high;
  int i = 0;
  for (; i + 32 <= w; i += 32) {
    Float8 a = high, b = high, c = high, d = high;
    for (int y = 0; y < rows; ++y) {
      const size_t at = static_cast<size_t>(y) * stride + i;
      step(pixels + at, memory + at, a);
      step(pixels + at + 8, memory + at + 8, b);
      step(pixels + at + 16, memory + at + 16, c);
      step(pixels + at + 24, memory + at + 24, d);
    }
    const Float8 ab = a < b ? a : b, cd = c < d ? c : d;
    best = ab < best ? ab : best;
    best = cd < best ? cd : best;
  }
  for (; i + 8 <= w; i += 8) {
    Float8 a = high;
    for (int y = 0; y < rows; ++y) {
      const size_t at = static_cast<size_t>(y) * stride + i;
      step(pixels + at, memory + at, a);
    }
    best = a < best ? a : best;
  }
  float lowest = 2.f;
  for (int k = 0; k < 8; ++k) lowest = best[k] < lowest ? best[k] : lowest;
  if (i < w) {  // the last w % 8 columns
    for (int y = 0; y < rows; ++y) {
      for (int x = i; x < w; ++x) {
        const size_t at = static_cast<size_t>(y) * stride + x;
        const float p = pixels[at] * alpha;
        pixels[at] = 1.0f < p ? 1.0f : p;
        const float m = memory[at] * alpha;
        memory[at] = m;
        lowest = m < lowest ? m : lowest;
      }
    }
  }
  return lowest;
}

// Algorithm 1 on one image [C, H, W] in place, drawing from the same stream
// in the same order as ltg_reference and computing the same float products,
// so the pixels come out bit-identical.  memory (M, C * H * W) and columns
// (W) are scratch.
// Cloned for AVX2 where the CPU has it (chosen at load time): twice the lanes
// of the x86-64 baseline's SSE2 in the rectangle loops.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void ltg_image_in_place(float* pixels, int C, int H, int W, const LtgOptions& options, uint64_t seed,
                        std::vector<float>& memory, std::vector<float>& columns, LtgPlan& applied) {
  LtgDrawStream stream(options, seed);
  applied.apply = stream.draw_apply();
  if (!applied.apply) return;
  const float t_min = static_cast<float>(options.t_min);
  // With t_min >= 1 the reference stops after its first try (M = 1 already
  // satisfies min(M) <= t_min); below 1 M starts above t_min everywhere.
  bool done = 1.0f <= t_min;
  memory.assign(static_cast<size_t>(C) * H * W, 1.0f);
  columns.resize(W);
  int accepted = 0;
  for (int attempt = 0; attempt < options.max_attempts && accepted < options.max_rectangles; ++attempt) {
    if (auto rect = stream.draw_placement(H, W)) {
      stream.draw_fractions(*rect, C);
      for (int c = 0; c < C; ++c) {
        float* plane = pixels + static_cast<size_t>(c) * H * W;
        float* mplane = memory.data() + static_cast<size_t>(c) * H * W;
        // Max and min are exact in any order, so they are taken in vector
        // strips down the rows and reduced once: the reference's values.
        const int x0 = rect->x, w = rect->width;
        const size_t offset = static_cast<size_t>(rect->y) * W + x0;
        const float region_max = region_maximum(plane + offset, W, rect->height, w, columns.data());
        const float alpha = region_max > 0.0f ? rect->fraction[c] / region_max : rect->fraction[c];
        const float region_min_memory = scale_region(plane + offset, mplane + offset, W, rect->height, w, alpha);
        // Outside the rectangle M is unchanged and above t_min, so min(M)
        // <= t_min exactly when it holds inside.
        done = done || region_min_memory <= t_min;
      }
      applied.rectangles.push_back(*rect);
      ++accepted;
    }
    if (done) break;
  }
}

}  // namespace

std::vector<LtgPlan> ltg_batched_cpu_in_place(torch::Tensor& images, const LtgOptions& options,
                                              const std::vector<uint64_t>& seeds) {
  check_ltg_batch(images, seeds);
  if (!images.device().is_cpu() || !images.is_contiguous()) {
    throw std::invalid_argument("ltg_batched_cpu_in_place: expected a contiguous CPU batch");
  }
  const int64_t B = images.size(0);
  const int C = static_cast<int>(images.size(1)), H = static_cast<int>(images.size(2)),
            W = static_cast<int>(images.size(3));
  std::vector<LtgPlan> plans(B);
  float* base = images.data_ptr<float>();
  const size_t image_size = static_cast<size_t>(C) * H * W;
  // Images differ in cost (1 to 20 rectangles of any size), so a static
  // split leaves one thread waiting for the other; each thread takes the
  // next image instead.  The scratch is per thread and kept between calls:
  // at 384x192 M is 884 KB, which malloc would map and fault in afresh on
  // every call.
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(B, std::max(1, at::get_num_threads()));
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    thread_local std::vector<float> memory, columns;
    for (int64_t b = next++; b < B; b = next++) {
      ltg_image_in_place(base + b * image_size, C, H, W, options, seeds[b], memory, columns, plans[b]);
    }
  });
  return plans;
}

LtgBatchResult ltg_batched_cpu(const torch::Tensor& images, const LtgOptions& options,
                               const std::vector<uint64_t>& seeds) {
  check_ltg_batch(images, seeds);
  LtgBatchResult result;
  result.images = images.contiguous().clone();
  result.plans = ltg_batched_cpu_in_place(result.images, options, seeds);
  for (const auto& plan : result.plans) result.rectangles_used.push_back(static_cast<int>(plan.rectangles.size()));
  return result;
}

}  // namespace rfm::augment
