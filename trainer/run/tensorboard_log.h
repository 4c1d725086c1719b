#pragma once
// What rank 0 writes to TensorBoard (metrics.tensorboard): after every step
// its loss terms, lr, the job's images/s, gradient norm and times; after
// every evaluation each protocol's R-1, mAP and mINP.  Steps are counted as
// rfm_step and the JSON lines count them: step N is the N-th finished step.
// A write that fails (a full disk) is reported once and ends the event log,
// not the run.

#include <memory>
#include <ostream>
#include <string>

#include "evaluation_report.pb.h"
#include "metrics/tensorboard_events.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

class TensorBoardLog : public TrainingHook {
 public:
  // A new event file in `directory`.  `first_step` > 0 (a resume): the file
  // starts with a session start at the next step, so that TensorBoard drops
  // what the interrupted run logged after its checkpoint.
  TensorBoardLog(const std::string& directory, int64_t first_step, int world_size, std::ostream& log);

  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;
  void after_evaluation(TrainingLoop& loop, const evaluation::EvaluationReport& report) override;
  const std::string& path() const { return writer_.path(); }

 private:
  void check();

  metrics::EventFileWriter writer_;
  int world_size_;
  std::ostream& log_;
  bool reported_ = false;
};

}  // namespace rfm::run
