#include "trainer/engine/lr_schedule.h"

namespace rfm::engine {

double LrSchedule::at(double epoch) const {
  double lr = base_lr;
  for (int m : milestones) {
    if (epoch >= m) lr *= gamma;
  }
  if (epoch < warmup_epochs) lr *= warmup_factor + (1.0 - warmup_factor) * (epoch / warmup_epochs);
  return lr;
}

}  // namespace rfm::engine
