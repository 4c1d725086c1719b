#pragma once
// The Linear Transformation Generator (Algorithm 1, Section IV-B) on images
// in [0, 1], before mean/std normalisation.  Per accepted rectangle and
// channel: alpha = f_g / max(region), the largest factor that keeps the region
// in range times a drawn fraction; the memory M accumulates the factors and
// the image is done once min(M) <= t_min.  A region whose maximum is 0 cannot
// change; it is given alpha = f_g so that M still advances.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "trainer/kernels/ltg_cpu.h"
#include "trainer/kernels/ltg_draws.h"

namespace rfm::augment {

// The plan types and the CPU kernel live with the kernels (trainer/kernels);
// this is their interface for everything above augmentation.
using kernels::check_ltg_batch;
using kernels::FactorDistribution;
using kernels::kMaxChannels;
using kernels::LtgDrawStream;
using kernels::LtgOptions;
using kernels::LtgPlan;
using kernels::LtgRectangle;
using kernels::ltg_batched_cpu_in_place;
using kernels::plan_ltg;

struct AppliedRectangle {
  LtgRectangle rect;
  std::array<float, kMaxChannels> alpha{};  // the factor each channel was scaled by
};

struct LtgImageResult {
  torch::Tensor image;  // [C, H, W]
  bool applied = false;
  std::vector<AppliedRectangle> rectangles;
};

// Algorithm 1 literally, one image [C, H, W] (float, CPU), pixel loops over
// each rectangle.  The reference the batched version is tested against.
LtgImageResult ltg_reference(const torch::Tensor& image, const LtgOptions& options, uint64_t seed);

struct LtgBatchResult {
  torch::Tensor images;        // [B, C, H, W], same device as the input
  std::vector<LtgPlan> plans;  // the draws of each image (on the CPU path, only those applied)
  // [B] int32 on the batch's device: how many of plans[b].rectangles were
  // applied.  On CUDA the kernel decides (M falls to t_min on the pixels it
  // writes), so the count stays on the GPU until someone reads it.
  torch::Tensor rectangles_used;
  // The counts as numbers (on CUDA this waits for the kernel).
  std::vector<int> rectangles_used_on_host() const;
};

// The whole batch [B, C, H, W] (float, CPU or CUDA); one seed per image.
// Image b equals ltg_reference(images[b], options, seeds[b]) bit for bit.
// On the CPU it runs ltg_batched_cpu; on CUDA ltg_batched_cuda where the
// kernel was built (ltg_cuda_kernel_built()), elsewhere ltg_batched_tensor.
LtgBatchResult ltg_batched(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds);

// A copy of the batch through the CPU kernel (kernels::ltg_batched_cpu_in_place,
// which the training step calls on its own batch).
LtgBatchResult ltg_batched_cpu(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds);

// Whole-batch tensor operations, one round per rectangle index, on the
// batch's device: the GPU path where the CUDA kernel was not built (a dozen
// launches and a host synchronisation per round), wasteful on a CPU where
// every round passes over every pixel of the batch.  The second
// implementation the kernel is checked against.
LtgBatchResult ltg_batched_tensor(const torch::Tensor& images, const LtgOptions& options,
                                  const std::vector<uint64_t>& seeds);

// Whether this build has the CUDA kernel (CMake found nvcc: RFM_HAVE_CUDA_LTG).
constexpr bool ltg_cuda_kernel_built() {
#ifdef RFM_HAVE_CUDA_LTG
  return true;
#else
  return false;
#endif
}

#ifdef RFM_HAVE_CUDA_LTG
// Every image's plan applied in one kernel launch, one thread block per
// image (ltg_cuda_kernel.cu); plans drawn on the host as everywhere else.
// Needs a CUDA batch and 0 < t_min < 1.
LtgBatchResult ltg_batched_cuda(const torch::Tensor& images, const LtgOptions& options,
                                const std::vector<uint64_t>& seeds);
#endif

}  // namespace rfm::augment
