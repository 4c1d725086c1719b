#pragma once
// The Linear Transformation Generator's CPU kernel: Algorithm 1 applied to a
// batch in place, the images in parallel, each bit-identical to the
// literal reference (trainer/augment/ltg_reference.cpp; the tests compare
// them image by image).  trainer/augment/ltg.h is the interface the
// training step calls; this is what it runs on a CPU batch.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "trainer/kernels/ltg_draws.h"

namespace rfm::kernels {

// Throws std::invalid_argument unless images is a float [B, C<=4, H, W]
// batch with one seed per image.
void check_ltg_batch(const torch::Tensor& images, const std::vector<uint64_t>& seeds);

// A contiguous CPU batch that the caller owns, overwritten in place: no copy
// of the batch (at 7 x (8+8) x 384x192, 99 MB that glibc maps fresh, page
// fault by page fault, on every call).  The images run in parallel, as many
// at a time as there are intra-op threads (an OpenMP region on LibTorch's
// own threads, intra_op_threads.h), each touching only its rectangles'
// pixels.  The reference's scan of all of M after every try is replaced by
// a check inside the rectangle just written: M was above t_min everywhere
// before it, and only that region changed (docs/MODEL.md, LTG).  Returns
// the rectangles applied to each image, and in workers_used how many
// threads took images.
std::vector<LtgPlan> ltg_batched_cpu_in_place(torch::Tensor& images, const LtgOptions& options,
                                              const std::vector<uint64_t>& seeds, int* workers_used = nullptr);

}  // namespace rfm::kernels
