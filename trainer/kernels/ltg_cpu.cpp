#include "trainer/kernels/ltg_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "trainer/kernels/intra_op_threads.h"
#include "trainer/kernels/ltg_memory_grid.h"

namespace rfm::kernels {

namespace {

using Float8 = float __attribute__((vector_size(32)));
__attribute__((always_inline)) inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store8(float* p, Float8 v) { std::memcpy(p, &v, sizeof v); }
__attribute__((always_inline)) inline Float8 max8(Float8 a, Float8 b) { return a > b ? a : b; }

using Int8 = int __attribute__((vector_size(32)));

// How a rectangle's w columns (starting at column x0 of a row of W >= 8)
// split into 8-float vectors: `full` whole strips from x0, then, when w is
// not a multiple of 8, one partial strip.  The partial strip's vector starts
// `partial_at` columns from x0 (moved left where it would cross the row's
// end) and only its `partial_mask` lanes are the rectangle's; the other
// lanes are the row's other pixels, read and written back unchanged.
struct StripPlan {
  int full = 0;
  bool partial = false;
  int partial_at = 0;
  Int8 partial_mask = {};
};

__attribute__((always_inline)) inline StripPlan strip_plan(int x0, int w, int W) {
  StripPlan plan;
  plan.full = w / 8;
  plan.partial = w % 8 != 0;
  if (plan.partial) {
    const int lo = x0 + 8 * plan.full, hi = x0 + w;  // the partial columns
    const int start = std::min(lo, W - 8);
    plan.partial_at = start - x0;
    const Int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    const Int8 column = lane + start;
    plan.partial_mask = (column >= lo) & (column < hi);
  }
  return plan;
}

// The maximum of a rows x w block at column x0 of rows W floats apart,
// exact in any order.  Up to four strips at a time keep their maxima in
// registers down all the rows, so no row waits on the previous row's store
// of the same column (as a column array in memory made it).
__attribute__((always_inline)) inline float region_maximum(const float* block, int x0, int W, int rows, int w) {
  const Float8 low = {-1.f, -1.f, -1.f, -1.f, -1.f, -1.f, -1.f, -1.f};
  const StripPlan plan = strip_plan(x0, w, W);
  Float8 best = low;
  int j = 0;
  for (; j + 4 <= plan.full; j += 4) {
    Float8 a = low, b = low, c = low, d = low;
    for (int y = 0; y < rows; ++y) {
      const float* p = block + static_cast<size_t>(y) * W + 8 * j;
      a = max8(a, load8(p));
      b = max8(b, load8(p + 8));
      c = max8(c, load8(p + 16));
      d = max8(d, load8(p + 24));
    }
    best = max8(best, max8(max8(a, b), max8(c, d)));
  }
  // The last 0-3 whole strips and the partial one, as four vectors; unused
  // slots repeat the first (max ignores repeats).
  const int left = plan.full - j + (plan.partial ? 1 : 0);
  if (left > 0) {
    const Int8 all = {-1, -1, -1, -1, -1, -1, -1, -1};
    int at[4];
    Int8 mask[4];
    for (int k = 0; k < 4; ++k) {
      const int slot = k < left ? k : 0;
      const bool is_partial = plan.partial && slot == left - 1;
      at[k] = is_partial ? plan.partial_at : 8 * (j + slot);
      mask[k] = is_partial ? plan.partial_mask : all;
    }
    Float8 a = low, b = low, c = low, d = low;
    for (int y = 0; y < rows; ++y) {
      const float* p = block + static_cast<ptrdiff_t>(y) * W;
      a = max8(a, mask[0] ? load8(p + at[0]) : low);
      b = max8(b, mask[1] ? load8(p + at[1]) : low);
      c = max8(c, mask[2] ? load8(p + at[2]) : low);
      d = max8(d, mask[3] ? load8(p + at[3]) : low);
    }
    best = max8(best, max8(max8(a, b), max8(c, d)));
  }
  float m = best[0];
  for (int k = 1; k < 8; ++k) m = best[k] > m ? best[k] : m;
  return m;
}

// Scales a rows x w block of pixels at column x0 of rows W floats apart by
// alpha, capped at 1 (std::min(p, 1), NaN included), each as the reference
// computes it.  Within a row the partial strip comes after the whole ones,
// so lanes it shares with them are read back already scaled and written
// back as they are.
__attribute__((always_inline)) inline void scale_region(float* pixels, int x0, int W, int rows, int w, float alpha) {
  const Float8 scale = {alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha};
  const Float8 one = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
  auto step = [&](float* p) {
    const Float8 v = load8(p) * scale;
    store8(p, one < v ? one : v);
  };
  const StripPlan plan = strip_plan(x0, w, W);
  for (int y = 0; y < rows; ++y) {
    float* row = pixels + static_cast<ptrdiff_t>(y) * W;
    for (int j = 0; j < plan.full; ++j) step(row + 8 * j);
    if (plan.partial) {
      float* p = row + plan.partial_at;
      const Float8 old = load8(p);
      const Float8 v = old * scale;
      store8(p, plan.partial_mask ? (one < v ? one : v) : old);
    }
  }
}

// Rows narrower than one vector (W < 8): the loops as the reference writes
// them, one pixel at a time.
float region_maximum_narrow(const float* block, int W, int rows, int w) {
  float m = -1.f;
  for (int y = 0; y < rows; ++y) {
    const float* row = block + static_cast<size_t>(y) * W;
    for (int i = 0; i < w; ++i) m = row[i] > m ? row[i] : m;
  }
  return m;
}

void scale_region_narrow(float* pixels, int W, int rows, int w, float alpha) {
  for (int y = 0; y < rows; ++y) {
    for (int i = 0; i < w; ++i) {
      const size_t at = static_cast<size_t>(y) * W + i;
      const float p = pixels[at] * alpha;
      pixels[at] = 1.0f < p ? 1.0f : p;
    }
  }
}

// Algorithm 1 on one image [C, H, W] in place, drawing from the same stream
// in the same order as ltg_reference and computing the same float products,
// so the pixels come out bit-identical.  memory (M) is scratch.
// Cloned for AVX2 where the CPU has it (chosen at load time): twice the lanes
// of the x86-64 baseline's SSE2 in the rectangle loops.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void ltg_image_in_place(float* pixels, int C, int H, int W, const LtgOptions& options, uint64_t seed,
                        LtgMemoryGrid& memory, LtgPlan& applied) {
  LtgDrawStream stream(options, seed);
  applied.apply = stream.draw_apply();
  if (!applied.apply) return;
  const float t_min = static_cast<float>(options.t_min);
  // With t_min >= 1 the reference stops after its first try (M = 1 already
  // satisfies min(M) <= t_min); below 1 M starts above t_min everywhere.
  bool done = 1.0f <= t_min;
  memory.reset(C, H, W);
  int accepted = 0;
  for (int attempt = 0; attempt < options.max_attempts && accepted < options.max_rectangles; ++attempt) {
    if (auto rect = stream.draw_placement(H, W)) {
      stream.draw_fractions(*rect, C);
      memory.cut(*rect);
      for (int c = 0; c < C; ++c) {
        float* plane = pixels + static_cast<size_t>(c) * H * W;
        // Max and min are exact in any order, so they are taken in vector
        // strips down the rows and reduced once: the reference's values.
        const int x0 = rect->x, w = rect->width;
        const size_t offset = static_cast<size_t>(rect->y) * W + x0;
        const float region_max = W >= 8 ? region_maximum(plane + offset, x0, W, rect->height, w)
                                        : region_maximum_narrow(plane + offset, W, rect->height, w);
        const float alpha = region_max > 0.0f ? rect->fraction[c] / region_max : rect->fraction[c];
        if (W >= 8) {
          scale_region(plane + offset, x0, W, rect->height, w, alpha);
        } else {
          scale_region_narrow(plane + offset, W, rect->height, w, alpha);
        }
        const float region_min_memory = memory.scale(c, alpha);
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

void check_ltg_batch(const torch::Tensor& images, const std::vector<uint64_t>& seeds) {
  if (images.dim() != 4 || images.size(1) > kMaxChannels || images.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("ltg_batched: expected a float [B, C<=4, H, W] batch");
  }
  if (static_cast<int64_t>(seeds.size()) != images.size(0)) throw std::invalid_argument("ltg_batched: one seed per image");
}

std::vector<LtgPlan> ltg_batched_cpu_in_place(torch::Tensor& images, const LtgOptions& options,
                                              const std::vector<uint64_t>& seeds, int* workers_used) {
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
  // Images differ in cost (1 to 20 rectangles of any size), so after its
  // first image (worker w starts with image w, so every worker takes part)
  // each worker takes the next image left.
  const int workers = static_cast<int>(std::min<int64_t>(B, std::max(1, at::get_num_threads())));
  std::atomic<int64_t> next{workers};
  std::mutex threads_mutex;
  std::set<std::thread::id> threads;  // that took images
  run_on_intra_op_threads(workers, [&](int w) {
    // M's cell grid is per thread and kept between calls: allocated once.
    thread_local LtgMemoryGrid memory;
    for (int64_t b = w; b < B; b = next++) {
      ltg_image_in_place(base + b * image_size, C, H, W, options, seeds[static_cast<size_t>(b)], memory,
                         plans[static_cast<size_t>(b)]);
    }
    std::lock_guard<std::mutex> lock(threads_mutex);
    threads.insert(std::this_thread::get_id());
  });
  if (workers_used != nullptr) *workers_used = static_cast<int>(threads.size());
  return plans;
}

}  // namespace rfm::kernels
