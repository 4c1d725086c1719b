#pragma once
// The dynamic loss scale of float16 training: float16 gradients of a loss of
// order 1 underflow, so backward runs on loss * scale and the gradients are
// divided by scale before the optimizer.  A step whose gradients overflowed
// is skipped and the scale halved; after `growth_interval` good steps in a
// row the scale doubles.  Scales are powers of two from a power-of-two
// start, so scaling and unscaling are exact.

#include <vector>

#include <torch/torch.h>

#include "trainer/model_io/loss_scaler_state.h"

namespace rfm::engine {

struct DynamicLossScalerOptions {
  double initial_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  // After this many skipped steps in a row the gradients are not an
  // overflow of the scale but broken: the run stops.
  int64_t max_consecutive_skips = 30;
};

// Its state is part of the checkpoint format.
using LossScalerState = model_io::LossScalerState;

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(DynamicLossScalerOptions options = {});

  double scale() const { return state_.scale; }
  torch::Tensor scale_loss(const torch::Tensor& loss) const { return loss * state_.scale; }
  // Divides every defined gradient by the scale, in place.
  void unscale(const std::vector<torch::Tensor>& parameters) const;
  // After the step's gradients were checked: finite ones count towards
  // growth, non-finite ones halve the scale.  Returns whether the optimizer
  // may step.
  bool update(bool gradients_finite);
  // The skips in a row exceed the options' limit.
  bool gave_up() const { return state_.consecutive_skips > options_.max_consecutive_skips; }

  const LossScalerState& state() const { return state_; }
  // From a checkpoint; `state.scale` must be > 0.
  void restore(const LossScalerState& state);

 private:
  DynamicLossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace rfm::engine
