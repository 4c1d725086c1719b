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
  std::vector<LtgPlan> plans;          // the draws of each image
  std::vector<int> rectangles_used;    // how many of plans[b].rectangles were applied
};

// The whole batch [B, C, H, W] (float, CPU or CUDA) with tensor operations on
// its device; one seed per image.  Image b equals ltg_reference(images[b],
// options, seeds[b]).
LtgBatchResult ltg_batched(const torch::Tensor& images, const LtgOptions& options, const std::vector<uint64_t>& seeds);

}  // namespace rfm::augment
