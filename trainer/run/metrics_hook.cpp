#include "trainer/run/metrics_hook.h"

namespace rfm::run {

metrics::StepSample step_sample(const engine::StepStats& stats, int64_t steps_done, double epoch) {
  metrics::StepSample m;
  m.steps_done = steps_done;
  m.epoch = epoch;
  m.lr = stats.lr;
  m.images = stats.images;
  m.seconds = stats.seconds;
  m.data_seconds = stats.data_seconds;
  m.forward_seconds = stats.forward_seconds;
  m.backward_seconds = stats.backward_seconds;
  m.all_reduce_seconds = stats.all_reduce_seconds;
  m.optimizer_seconds = stats.optimizer_seconds;
  for (const auto& term : loss::kLossTerms) m.losses.emplace_back(term.name, stats.loss[term.term]);
  m.loss_scale = stats.loss_scale;
  m.skipped = stats.skipped;
  return m;
}

void MetricsHook::after_step(TrainingLoop& loop, const engine::StepStats& stats) {
  metrics_.record_step(step_sample(stats, loop.steps_done(), loop.epoch_at(stats.step)));
}

void MetricsHook::after_evaluation(TrainingLoop& /*loop*/, const evaluation::EvaluationReport& report) {
  for (const auto& r : report.results()) {
    metrics_.record_evaluation(r.name(), 100 * r.rank1().mean(), 100 * r.map().mean(), 100 * r.minp().mean());
  }
}

}  // namespace rfm::run
