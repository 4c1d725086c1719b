#pragma once
// Evaluates the checkpoint of every eval_every_epochs-th epoch on rank 0
// (the other ranks wait), appends each protocol to <run_dir>/eval_log.tsv
// and keeps the best weights (the first protocol's mAP) as best.pt.

#include <memory>
#include <string>

#include "trainer/run/checkpointed_run.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

class EvaluationHook : public TrainingHook {
 public:
  explicit EvaluationHook(CheckpointedRun run) : run_(std::move(run)) {}

  void after_epoch(TrainingLoop& loop, int64_t epochs_done) override;

 private:
  void evaluate(TrainingLoop& loop);

  CheckpointedRun run_;
};

}  // namespace rfm::run
