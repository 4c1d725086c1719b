#pragma once
// Gradients set to none before backward instead of zeroed.  LibTorch 1.13's
// Optimizer::zero_grad() zeroes every .grad, and backward's AccumulateGrad
// then adds each fresh gradient into the zeroed one: a memset and a
// read-add-write of every gradient, each step (PyTorch 2 made none the
// default for this reason).  With .grad none, AccumulateGrad keeps the
// fresh gradient as it is.
//
// zero_grad() also leaves a zero gradient on a parameter that had one and
// gets none this step, so SGD still applies its weight decay and momentum
// to it; after backward such a parameter gets a zero gradient here, so the
// optimizer sees exactly what zero_grad() would have left.
#include <vector>

#include <torch/torch.h>

namespace rfm::engine {

class GradientRelease {
 public:
  explicit GradientRelease(std::vector<torch::Tensor> parameters);
  // Before backward: every defined .grad set to none (remembering which).
  void release();
  // After backward: a zero .grad for each parameter that had one before
  // release() and received none.  Returns how many were restored.
  int restore_missing();

 private:
  std::vector<torch::Tensor> parameters_;
  std::vector<char> had_grad_;
};

}  // namespace rfm::engine
