#include "trainer/run/training_loop.h"

#include <chrono>

namespace rfm::run {

TrainingLoop::TrainingLoop(BatchSource& source, StepFunction step, TrainingOutcome resumed, int64_t total_steps,
                           std::ostream& log)
    : source_(source),
      step_(std::move(step)),
      outcome_(std::move(resumed)),
      total_(total_steps),
      per_epoch_(source.steps_per_epoch()),
      done_(outcome_.first_step),
      log_(log) {}

TrainingLoop& TrainingLoop::add(std::unique_ptr<TrainingHook> hook) {
  hooks_.push_back(std::move(hook));
  return *this;
}

void TrainingLoop::enter_phase(engine::Phase phase, int64_t step) {
  for (auto& h : hooks_) h->on_phase(phase, step);
}

void TrainingLoop::end_progress_line() {
  for (auto& h : hooks_) h->before_log();
}

std::ostream& TrainingLoop::log() {
  end_progress_line();
  return log_;
}

void TrainingLoop::checkpoint_written(const std::string& path, double seconds) {
  for (auto& h : hooks_) h->after_checkpoint(*this, path, seconds);
}

void TrainingLoop::evaluated(const evaluation::EvaluationReport& report) {
  for (auto& h : hooks_) h->after_evaluation(*this, report);
}

TrainingOutcome TrainingLoop::run() {
  source_.start(outcome_.first_step);
  for (auto& h : hooks_) h->before_train(*this);
  for (int64_t s = outcome_.first_step; s < total_; ++s) {
    const double epoch = epoch_at(s);
    if (s % per_epoch_ == 0) {
      for (auto& h : hooks_) h->before_epoch(*this, s / per_epoch_);
    }
    stop_requested_ = false;
    for (auto& h : hooks_) h->before_step(*this, s);
    enter_phase(engine::Phase::kData, s);
    const auto wait_start = std::chrono::steady_clock::now();
    const auto batch = source_.next(s);
    const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
    engine::StepStats stats;
    try {
      stats = step_(batch, s, epoch, stop_requested_, [&](engine::Phase p) { enter_phase(p, s); });
    } catch (const engine::NonFiniteLossError&) {
      for (auto& h : hooks_) h->on_non_finite(*this);
      throw;
    }
    stats.data_seconds = data_seconds;
    outcome_.history.push_back(stats);
    done_ = s + 1;
    outcome_.final_step = done_;
    for (auto& h : hooks_) h->after_step(*this, stats);
    if (done_ % per_epoch_ == 0) {
      for (auto& h : hooks_) h->after_epoch(*this, done_ / per_epoch_);
    }
    if (stats.stop_requested) {
      outcome_.stopped_by_signal = true;
      break;
    }
  }
  if (!outcome_.stopped_by_signal) outcome_.final_step = total_;
  for (auto& h : hooks_) h->after_train(*this);
  enter_phase(engine::Phase::kDone, outcome_.final_step);
  return outcome_;
}

}  // namespace rfm::run
