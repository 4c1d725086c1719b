#include "trainer/run/console_log_hook.h"

#include <iomanip>

#include "trainer/process/peak_memory.h"

namespace rfm::run {

void ConsoleLogHook::before_train(TrainingLoop& loop) {
  progress_ = std::make_unique<ConsoleProgress>(out_, terminal_, loop.first_step(), loop.total_steps(), log_every_);
}

void ConsoleLogHook::after_step(TrainingLoop& loop, const engine::StepStats& stats) {
  progress_->step(stats, loop.steps_done(), loop.epoch_at(stats.step), world_);
}

void ConsoleLogHook::after_train(TrainingLoop& /*loop*/) { progress_->interrupt(); }

void RunSummaryHook::after_train(TrainingLoop& loop) {
  const auto& history = loop.outcome().history;
  if (history.empty()) return;
  double seconds = 0;
  for (const auto& h : history) seconds += h.seconds;
  loop.log() << std::fixed << std::setprecision(3) << "done: " << history.size() << " steps, mean step "
             << seconds / static_cast<double>(history.size()) << " s, peak RSS " << std::setprecision(0)
             << process::peak_rss_mib() << " MiB; log in " << train_log_ << std::endl;
}

}  // namespace rfm::run
