#include <algorithm>
#include <stdexcept>

#include "trainer/augment/ltg.h"

namespace rfm::augment {

LtgBatchResult ltg_batched_cpu(const torch::Tensor& images, const LtgOptions& options,
                               const std::vector<uint64_t>& seeds) {
  check_ltg_batch(images, seeds);
  LtgBatchResult result;
  result.images = images.contiguous().clone();
  result.plans = ltg_batched_cpu_in_place(result.images, options, seeds);
  std::vector<int> used;
  for (const auto& plan : result.plans) used.push_back(static_cast<int>(plan.rectangles.size()));
  result.rectangles_used = torch::tensor(used, torch::kInt32);
  return result;
}

std::vector<int> LtgBatchResult::rectangles_used_on_host() const {
  const auto counts = rectangles_used.to(torch::kCPU, torch::kInt32).contiguous();
  return std::vector<int>(counts.data_ptr<int>(), counts.data_ptr<int>() + counts.numel());
}

LtgBatchResult ltg_batched(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds) {
  if (images.device().is_cpu()) return ltg_batched_cpu(images, options, seeds);
#ifdef RFM_HAVE_CUDA_LTG
  if (images.device().is_cuda()) return ltg_batched_cuda(images, options, seeds);
#endif
  return ltg_batched_tensor(images, options, seeds);
}

LtgBatchResult ltg_batched_tensor(const torch::Tensor& images, const LtgOptions& options,
                                  const std::vector<uint64_t>& seeds) {
  check_ltg_batch(images, seeds);
  const int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);

  LtgBatchResult result;
  result.plans.reserve(B);
  int64_t rounds = 0;
  for (int64_t b = 0; b < B; ++b) {
    result.plans.push_back(plan_ltg(options, seeds[b], static_cast<int>(C), static_cast<int>(H), static_cast<int>(W)));
    rounds = std::max<int64_t>(rounds, static_cast<int64_t>(result.plans.back().rectangles.size()));
  }
  result.rectangles_used = torch::zeros({B}, torch::TensorOptions(torch::kInt32).device(images.device()));
  result.images = images.clone();
  if (rounds == 0) return result;

  // The plans as [B, R] tensors, moved to the batch's device once.
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  auto x0 = torch::zeros({B, rounds}, i64), y0 = torch::zeros({B, rounds}, i64);
  auto x1 = torch::zeros({B, rounds}, i64), y1 = torch::zeros({B, rounds}, i64);
  auto fraction = torch::zeros({B, rounds, C});
  auto valid = torch::zeros({B, rounds}, torch::TensorOptions().dtype(torch::kBool));
  {
    auto ax0 = x0.accessor<int64_t, 2>(), ay0 = y0.accessor<int64_t, 2>();
    auto ax1 = x1.accessor<int64_t, 2>(), ay1 = y1.accessor<int64_t, 2>();
    auto af = fraction.accessor<float, 3>();
    auto av = valid.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& rects = result.plans[b].rectangles;
      for (size_t j = 0; j < rects.size(); ++j) {
        ax0[b][j] = rects[j].x;
        ay0[b][j] = rects[j].y;
        ax1[b][j] = rects[j].x + rects[j].width;
        ay1[b][j] = rects[j].y + rects[j].height;
        for (int64_t c = 0; c < C; ++c) af[b][j][c] = rects[j].fraction[c];
        av[b][j] = true;
      }
    }
  }
  const auto device = images.device();
  x0 = x0.to(device);
  y0 = y0.to(device);
  x1 = x1.to(device);
  y1 = y1.to(device);
  fraction = fraction.to(device);
  valid = valid.to(device);

  auto out = result.images;
  auto memory = torch::ones_like(out);
  const auto rows = torch::arange(H, i64.device(device)).view({1, 1, H, 1});
  const auto cols = torch::arange(W, i64.device(device)).view({1, 1, 1, W});
  auto active = valid.select(1, 0).clone();
  auto used = torch::zeros({B}, i64.device(device));
  const float t_min = static_cast<float>(options.t_min);

  for (int64_t j = 0; j < rounds; ++j) {
    auto live = active & valid.select(1, j);
    if (!live.any().item<bool>()) break;
    auto col = [&](const torch::Tensor& t) { return t.select(1, j).view({B, 1, 1, 1}); };
    auto mask = (rows >= col(y0)) & (rows < col(y1)) & (cols >= col(x0)) & (cols < col(x1)) & live.view({B, 1, 1, 1});
    auto region_max = torch::where(mask, out, torch::full({}, -1.0f, out.options())).amax({2, 3});  // [B, C]
    auto f = fraction.select(1, j);
    auto alpha = torch::where(region_max > 0, f / region_max, f).view({B, C, 1, 1});
    out = torch::where(mask, (out * alpha).clamp_max(1.0f), out);
    memory = torch::where(mask, memory * alpha, memory);
    used += live.to(torch::kInt64);
    active = live & (memory.amin({1, 2, 3}) > t_min);
  }
  result.images = out;
  result.rectangles_used = used.to(torch::kInt32);
  return result;
}

}  // namespace rfm::augment
