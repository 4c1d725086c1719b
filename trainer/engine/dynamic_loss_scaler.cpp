#include "trainer/engine/dynamic_loss_scaler.h"

#include <cmath>
#include <stdexcept>

namespace rfm::engine {

DynamicLossScaler::DynamicLossScaler(DynamicLossScalerOptions options) : options_(options) {
  if (!(options_.initial_scale > 0) || !std::isfinite(options_.initial_scale)) {
    throw std::invalid_argument("loss scale: the initial scale must be finite and > 0");
  }
  if (!(options_.growth_factor > 1) || !(options_.backoff_factor > 0 && options_.backoff_factor < 1)) {
    throw std::invalid_argument("loss scale: growth factor must be > 1 and backoff factor in (0, 1)");
  }
  if (options_.growth_interval < 1) throw std::invalid_argument("loss scale: the growth interval must be >= 1");
  state_.scale = options_.initial_scale;
}

void DynamicLossScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / state_.scale;
  for (const auto& p : parameters) {
    if (p.grad().defined()) p.grad().mul_(inverse);
  }
}

bool DynamicLossScaler::update(bool gradients_finite) {
  if (!gradients_finite) {
    state_.scale *= options_.backoff_factor;
    state_.good_steps = 0;
    ++state_.consecutive_skips;
    return false;
  }
  state_.consecutive_skips = 0;
  if (++state_.good_steps >= options_.growth_interval) {
    state_.scale *= options_.growth_factor;
    state_.good_steps = 0;
  }
  return true;
}

void DynamicLossScaler::restore(const LossScalerState& state) {
  if (!(state.scale > 0) || !std::isfinite(state.scale)) {
    throw std::invalid_argument("loss scale: a restored scale must be finite and > 0");
  }
  state_ = state;
}

}  // namespace rfm::engine
