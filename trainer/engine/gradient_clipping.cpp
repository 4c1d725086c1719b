#include "trainer/engine/gradient_clipping.h"

#include <cmath>

namespace rfm::engine {

double clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters) {
    if (p.grad().defined()) norms.push_back(p.grad().norm());
  }
  if (norms.empty()) return 0.0;
  // The same reduction as clip_grad_norm_ (a norm of the norms), so the
  // logged norm and the clipping decision do not change.
  const double total = torch::stack(norms).norm().item<double>();
  if (max_norm > 0 && std::isfinite(total)) {
    const double coefficient = max_norm / (total + 1e-6);
    if (coefficient < 1.0) {
      for (const auto& p : parameters) {
        if (p.grad().defined()) p.grad().mul_(coefficient);
      }
    }
  }
  return total;
}

}  // namespace rfm::engine
