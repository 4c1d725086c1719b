#pragma once
// What a training run does around its steps, one concern per hook
// (checkpoints, evaluation, each log, metrics, stop signals, supervision),
// in the manner of fast-reid's HookBase.  The loop calls every hook in the
// order they were added; a hook that needs another's work done first (the
// evaluation reads the checkpoint of its step) is added after it.

#include <cstdint>
#include <string>

#include "evaluation_report.pb.h"
#include "trainer/engine/trainer.h"

namespace rfm::run {

class TrainingLoop;

class TrainingHook {
 public:
  virtual ~TrainingHook() = default;

  virtual void before_train(TrainingLoop& /*loop*/) {}
  // `epoch`: the epoch (0-based) whose first step comes next.
  virtual void before_epoch(TrainingLoop& /*loop*/, int64_t /*epoch*/) {}
  // Before step `step` (0-based); a hook may loop.request_stop() here.
  virtual void before_step(TrainingLoop& /*loop*/, int64_t /*step*/) {}
  // After step `stats.step`; loop.steps_done() counts it.
  virtual void after_step(TrainingLoop& /*loop*/, const engine::StepStats& /*stats*/) {}
  // `epochs_done`: epochs finished with the step just taken.
  virtual void after_epoch(TrainingLoop& /*loop*/, int64_t /*epochs_done*/) {}
  // After the last step, or after the step at which the ranks agreed to stop.
  virtual void after_train(TrainingLoop& /*loop*/) {}

  // A step threw engine::NonFiniteLossError; the loop rethrows it.
  virtual void on_non_finite(TrainingLoop& /*loop*/) {}
  // The loop (or a hook) enters `phase` of step `step`.
  virtual void on_phase(engine::Phase /*phase*/, int64_t /*step*/) {}
  // Every rank's checkpoint of this point is on disk (`path` is rank 0's; ""
  // on the others), `seconds` after the save began.
  virtual void after_checkpoint(TrainingLoop& /*loop*/, const std::string& /*path*/, double /*seconds*/) {}
  // Rank 0 evaluated the weights after loop.steps_done() steps.
  virtual void after_evaluation(TrainingLoop& /*loop*/, const evaluation::EvaluationReport& /*report*/) {}
  // Another hook is about to write lines to the log (end a progress bar).
  virtual void before_log() {}
};

}  // namespace rfm::run
