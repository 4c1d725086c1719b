#pragma once
// The thin training loop: for each step, a batch from the source, one call
// of the step function, and the hooks around it.  Everything else a run
// does (checkpoints, evaluation, logs, metrics, stop signals) is a hook.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "trainer/engine/trainer.h"
#include "trainer/run/batch_source.h"
#include "trainer/run/training_hook.h"

namespace rfm::run {

struct TrainingOutcome {
  std::vector<engine::StepStats> history;  // the steps this invocation ran
  int64_t first_step = 0;                  // > 0 when resumed
  int64_t final_step = 0;
  bool stopped_by_signal = false;          // checkpoint written; exit kExitRequeue
  std::string last_checkpoint;             // "" when none was written
  double best_map = -1.0;
  int64_t best_step = -1;
};

// One step of training: Trainer::step's signature.
using StepFunction = std::function<engine::StepStats(const loader::TrainBatch& batch, int64_t step, double epoch,
                                                     bool request_stop,
                                                     const std::function<void(engine::Phase)>& on_phase)>;

class TrainingLoop {
 public:
  // Steps `resumed.first_step` .. `total_steps` - 1; `resumed` also carries
  // the best evaluation so far.
  TrainingLoop(BatchSource& source, StepFunction step, TrainingOutcome resumed, int64_t total_steps,
               std::ostream& log);

  TrainingLoop& add(std::unique_ptr<TrainingHook> hook);
  // Runs the steps; returns what happened.  Throws what a step or hook
  // throws (after on_non_finite for a non-finite loss).
  TrainingOutcome run();

  // For the hooks.
  BatchSource& source() { return source_; }
  int64_t first_step() const { return outcome_.first_step; }
  int64_t total_steps() const { return total_; }
  int64_t steps_per_epoch() const { return per_epoch_; }
  int64_t steps_done() const { return done_; }
  double epoch_at(int64_t steps) const { return static_cast<double>(steps) / static_cast<double>(per_epoch_); }
  TrainingOutcome& outcome() { return outcome_; }
  // Asks every rank to stop after the coming step (before_step only).
  void request_stop() { stop_requested_ = true; }
  void enter_phase(engine::Phase phase, int64_t step);
  // Every hook's before_log: a progress bar's line ends.
  void end_progress_line();
  // The log, after end_progress_line().
  std::ostream& log();
  void checkpoint_written(const std::string& path, double seconds);
  void evaluated(const evaluation::EvaluationReport& report);

 private:
  BatchSource& source_;
  StepFunction step_;
  TrainingOutcome outcome_;
  int64_t total_;
  int64_t per_epoch_;
  int64_t done_;
  std::ostream& log_;
  bool stop_requested_ = false;
  std::vector<std::unique_ptr<TrainingHook>> hooks_;
};

}  // namespace rfm::run
