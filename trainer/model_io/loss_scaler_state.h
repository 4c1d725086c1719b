#pragma once
// Where FP16's dynamic loss scale stood: what a checkpoint records of the
// engine's DynamicLossScaler, so that a resumed run scales as the
// interrupted one would have.

#include <cstdint>

namespace rfm::model_io {

struct LossScalerState {
  double scale = 0.0;
  int64_t good_steps = 0;       // since the last change of scale
  int64_t consecutive_skips = 0;
};

}  // namespace rfm::model_io
