#include "trainer/run/tensorboard_log.h"

#include <vector>

namespace rfm::run {

TensorBoardLog::TensorBoardLog(const std::string& directory, int64_t first_step, int world_size, std::ostream& log)
    : writer_(directory), world_size_(world_size), log_(log) {
  if (first_step > 0) writer_.write_session_start(first_step + 1);
  writer_.flush();
  check();
}

void TensorBoardLog::after_step(TrainingLoop& loop, const engine::StepStats& s) {
  const double epoch = loop.epoch_at(s.step);
  std::vector<metrics::Scalar> scalars;
  for (const auto& term : loss::kLossTerms) scalars.emplace_back(std::string("loss/") + term.name, s.loss[term.term]);
  const std::vector<metrics::Scalar> train = {
      {"train/lr", s.lr},
      {"train/epoch", epoch},
      {"train/grad_norm", s.grad_norm},
      // Every rank trains its share of the global batch in the same step.
      {"train/images_per_second", s.seconds > 0 ? static_cast<double>(s.images * world_size_) / s.seconds : 0.0},
      {"train/step_seconds", s.seconds},
      {"train/data_seconds", s.data_seconds},
  };
  scalars.insert(scalars.end(), train.begin(), train.end());
  if (s.loss_scale > 0) scalars.emplace_back("train/loss_scale", s.loss_scale);
  writer_.write_scalars(loop.steps_done(), scalars);
  // Cheap next to a step, and TensorBoard (or a crash) sees every step.
  writer_.flush();
  check();
}

void TensorBoardLog::after_evaluation(TrainingLoop& loop, const evaluation::EvaluationReport& report) {
  std::vector<metrics::Scalar> scalars;
  for (const auto& r : report.results()) {
    scalars.emplace_back("eval/" + r.name() + "/R-1", 100 * r.rank1().mean());
    scalars.emplace_back("eval/" + r.name() + "/mAP", 100 * r.map().mean());
    scalars.emplace_back("eval/" + r.name() + "/mINP", 100 * r.minp().mean());
  }
  writer_.write_scalars(loop.steps_done(), scalars);
  writer_.flush();
  check();
}

void TensorBoardLog::check() {
  if (writer_.good() || reported_) return;
  reported_ = true;
  log_ << "warning: " << writer_.path() << ": a write failed; no more TensorBoard events this run" << std::endl;
}

}  // namespace rfm::run
