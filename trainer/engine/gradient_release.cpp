#include "trainer/engine/gradient_release.h"

namespace rfm::engine {

GradientRelease::GradientRelease(std::vector<torch::Tensor> parameters)
    : parameters_(std::move(parameters)), had_grad_(parameters_.size(), 0) {}

void GradientRelease::release() {
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto& grad = parameters_[k].mutable_grad();
    had_grad_[k] = grad.defined() ? 1 : 0;
    grad.reset();
  }
}

int GradientRelease::restore_missing() {
  torch::NoGradGuard no_grad;
  int restored = 0;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto& p = parameters_[k];
    if (had_grad_[k] && !p.grad().defined()) {
      p.mutable_grad() = torch::zeros_like(p, torch::MemoryFormat::Preserve);
      ++restored;
    }
  }
  return restored;
}

}  // namespace rfm::engine
