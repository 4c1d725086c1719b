#pragma once
// Learning rate as a function of (fractional) epoch: linear warm-up, then the
// step schedule (the paper: 0.03, x0.1 from epoch 40, x0.1 again from 70).

#include <vector>

namespace rfm::engine {

struct LrSchedule {
  double base_lr = 0.03;
  double warmup_epochs = 0.0;
  double warmup_factor = 0.1;
  std::vector<int> milestones;  // 0-based epoch from which the next decay applies
  double gamma = 0.1;

  // `epoch` counts from 0; 40.0 is the first step of the 41st epoch, the
  // first epoch "after the 40th".
  double at(double epoch) const;
};

}  // namespace rfm::engine
