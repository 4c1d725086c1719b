#pragma once
// Rank 0's console: during the steps ConsoleProgress (a bar on a terminal,
// a line every metrics.log_every_steps elsewhere); at the end a summary,
// from a hook of its own added last, after the final checkpoint and plots.

#include <memory>
#include <string>

#include "trainer/run/console_progress.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

class ConsoleLogHook : public TrainingHook {
 public:
  ConsoleLogHook(std::ostream& out, bool terminal, int log_every_steps, int world_size)
      : out_(out), terminal_(terminal), log_every_(log_every_steps), world_(world_size) {}

  void before_train(TrainingLoop& loop) override;
  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;
  void after_train(TrainingLoop& loop) override;
  void before_log() override {
    if (progress_) progress_->interrupt();
  }

 private:
  std::ostream& out_;
  bool terminal_;
  int log_every_;
  int world_;
  std::unique_ptr<ConsoleProgress> progress_;
};

// "done: N steps, mean step, peak RSS; log in <train_log>".
class RunSummaryHook : public TrainingHook {
 public:
  explicit RunSummaryHook(std::string train_log) : train_log_(std::move(train_log)) {}
  void after_train(TrainingLoop& loop) override;

 private:
  std::string train_log_;
};

}  // namespace rfm::run
