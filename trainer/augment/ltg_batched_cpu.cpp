#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "trainer/augment/ltg.h"

namespace rfm::augment {

namespace {

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
        // Max and min are exact in any order, so they are taken column-wise
        // first (element-wise vector ops, no reduction across lanes per row)
        // and then once over the columns: the reference's values.
        const int x0 = rect->x, w = rect->width;
        float* column = columns.data();
        std::fill(column, column + w, -1.0f);
        for (int y = rect->y; y < rect->y + rect->height; ++y) {
          const float* row = plane + static_cast<size_t>(y) * W + x0;
#pragma omp simd
          for (int i = 0; i < w; ++i) column[i] = row[i] > column[i] ? row[i] : column[i];
        }
        const float region_max = *std::max_element(column, column + w);
        const float alpha = region_max > 0.0f ? rect->fraction[c] / region_max : rect->fraction[c];
        std::fill(column, column + w, 2.0f);
        for (int y = rect->y; y < rect->y + rect->height; ++y) {
          float* row = plane + static_cast<size_t>(y) * W + x0;
          float* mrow = mplane + static_cast<size_t>(y) * W + x0;
#pragma omp simd
          for (int i = 0; i < w; ++i) {
            const float p = row[i] * alpha;
            row[i] = 1.0f < p ? 1.0f : p;  // std::min(p, 1.0f), NaN included
            const float m = mrow[i] * alpha;
            mrow[i] = m;
            column[i] = m < column[i] ? m : column[i];
          }
        }
        const float region_min_memory = *std::min_element(column, column + w);
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
