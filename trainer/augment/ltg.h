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

#include "trainer/augment/ltg_draws.h"

namespace rfm::augment {

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
  torch::Tensor images;                // [B, C, H, W], same device as the input
  std::vector<LtgPlan> plans;          // the draws of each image (on the CPU path, only those applied)
  std::vector<int> rectangles_used;    // how many of plans[b].rectangles were applied
};

// Throws std::invalid_argument unless images is a float [B, C<=4, H, W]
// batch with one seed per image.
void check_ltg_batch(const torch::Tensor& images, const std::vector<uint64_t>& seeds);

// The whole batch [B, C, H, W] (float, CPU or CUDA); one seed per image.
// Image b equals ltg_reference(images[b], options, seeds[b]) bit for bit.
// On the CPU it runs ltg_batched_cpu; on CUDA ltg_batched_cuda where the
// kernel was built (ltg_cuda_kernel_built()), elsewhere ltg_batched_tensor.
LtgBatchResult ltg_batched(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds);

// The images in parallel, as many at a time as there are intra-op threads
// (an OpenMP region on LibTorch's own threads, intra_op_threads.h), each touching only its
// rectangles' pixels.  The reference's scan of all of M after every try is
// replaced by a check inside the rectangle just written: M was above t_min
// everywhere before it, and only that region changed (docs/MODEL.md, LTG).
LtgBatchResult ltg_batched_cpu(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds);

// The same on a contiguous CPU batch that the caller owns, overwritten in
// place: no copy of the batch (at 7 x (8+8) x 384x192, 99 MB that glibc maps
// fresh, page fault by page fault, on every call).  Returns the rectangles
// applied to each image, and in workers_used how many threads took images.
std::vector<LtgPlan> ltg_batched_cpu_in_place(torch::Tensor& images, const LtgOptions& options,
                                              const std::vector<uint64_t>& seeds, int* workers_used = nullptr);

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
