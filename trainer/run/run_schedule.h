#pragma once
// When a run checkpoints and evaluates, from the config: the checkpoint
// hook and the evaluation hook read the same schedule, so every evaluated
// step has its checkpoint.

#include <cstdint>

#include "rfm_config.pb.h"

namespace rfm::run {

struct RunSchedule {
  int64_t steps_per_epoch = 1;
  int eval_every_epochs = 0;        // 0: never
  int checkpoint_every_steps = 0;   // 0: not by steps
  int checkpoint_every_epochs = 0;  // 0: not by epochs

  static RunSchedule of(const config::RunConfig& config, int64_t steps_per_epoch) {
    RunSchedule s;
    s.steps_per_epoch = steps_per_epoch;
    s.eval_every_epochs = config.train().eval_every_epochs();
    s.checkpoint_every_steps = config.checkpoint().every_steps();
    s.checkpoint_every_epochs = config.checkpoint().every_epochs();
    return s;
  }

  bool epoch_ends_after(int64_t steps_done) const { return steps_done % steps_per_epoch == 0; }
  bool evaluates_after(int64_t steps_done) const {
    return epoch_ends_after(steps_done) && eval_every_epochs > 0 &&
           (steps_done / steps_per_epoch) % eval_every_epochs == 0;
  }
  // The periodic checkpoints (a stop, an evaluation and the end add theirs).
  bool checkpoints_after(int64_t steps_done) const {
    return (checkpoint_every_steps > 0 && steps_done % checkpoint_every_steps == 0) ||
           (epoch_ends_after(steps_done) && checkpoint_every_epochs > 0 &&
            (steps_done / steps_per_epoch) % checkpoint_every_epochs == 0);
  }
};

}  // namespace rfm::run
