#pragma once
// Saves the training state: step-N.pt after a stop request, a periodic
// point of the schedule, an evaluated step and the last step (keeping the
// newest checkpoint.keep_last), and last.pt when the run ends.  Rank 0
// writes; every rank waits for the file and reports it.

#include <memory>

#include "trainer/run/checkpointed_run.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

class CheckpointHook : public TrainingHook {
 public:
  explicit CheckpointHook(CheckpointedRun run) : run_(std::move(run)) {}

  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;
  void after_train(TrainingLoop& loop) override;

 private:
  // Writes the state after `steps_done` steps to step-N.pt, which counts
  // towards keep_last and becomes the outcome's last checkpoint, or to
  // last.pt, which does neither.
  enum class Kind { kStep, kLast };
  void save(TrainingLoop& loop, Kind kind, int64_t steps_done);

  CheckpointedRun run_;
};

}  // namespace rfm::run
