#pragma once
// The global L2 norm of the gradients, and clipping to a maximum norm.
// LibTorch's clip_grad_norm_ multiplies every gradient by its clamped
// coefficient even when that is 1 (clipping off, or a norm under the
// limit): a read-modify-write of every gradient each step for nothing.
// This one computes the same norm and scales only when it clips.
#include <vector>

#include <torch/torch.h>

namespace rfm::engine {

// Returns the norm of all the defined gradients taken together (inf or NaN
// when one is not finite).  max_norm > 0: gradients whose norm exceeds it
// are scaled by max_norm / (norm + 1e-6), as clip_grad_norm_ does; <= 0:
// they are left alone.
double clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace rfm::engine
