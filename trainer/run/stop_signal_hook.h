#pragma once
// Turns SIGTERM/SIGUSR1 (stop_signals.h) into a stop after the next step:
// this rank asks in the step's all-reduce, every rank stops at that step,
// and the checkpoint hook (added before this one) has saved it.

#include "trainer/run/training_loop.h"

namespace rfm::run {

class StopSignalHook : public TrainingHook {
 public:
  explicit StopSignalHook(bool leader) : leader_(leader) {}

  void before_train(TrainingLoop& loop) override;
  void before_step(TrainingLoop& loop, int64_t step) override;
  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;

 private:
  bool leader_;
};

}  // namespace rfm::run
