#pragma once
// This rank's Prometheus metrics (metrics/training_metrics.h), fed from the
// loop's events: steps, checkpoints, evaluations, a non-finite stop.

#include "metrics/training_metrics.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

// What Prometheus gets of a step: plain numbers, the loss terms by name.
metrics::StepSample step_sample(const engine::StepStats& stats, int64_t steps_done, double epoch);

class MetricsHook : public TrainingHook {
 public:
  explicit MetricsHook(metrics::TrainingMetrics& metrics) : metrics_(metrics) {}

  void before_train(TrainingLoop& loop) override { metrics_.set_total_steps(loop.total_steps()); }
  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;
  void on_non_finite(TrainingLoop& /*loop*/) override { metrics_.record_non_finite(); }
  // Every rank reports the job's checkpoint (rank 0 writes, the others wait
  // for it): each rank's series then shows the checkpoint age.
  void after_checkpoint(TrainingLoop& /*loop*/, const std::string& /*path*/, double seconds) override {
    metrics_.record_checkpoint(seconds);
  }
  void after_evaluation(TrainingLoop& loop, const evaluation::EvaluationReport& report) override;

 private:
  metrics::TrainingMetrics& metrics_;
};

}  // namespace rfm::run
