#pragma once
// Every rank's steps as JSON lines in <run_dir>/logs/rank-R.jsonl (appended
// across resumes), step N being the N-th finished step.

#include <fstream>
#include <string>

#include "trainer/run/training_loop.h"

namespace rfm::run {

// One line: step, epoch, lr, the loss terms, images, the phase times,
// gradient norm, loss scale, skipped and the wall clock.
std::string step_json(const engine::StepStats& stats, int64_t steps_done, double epoch);

class StepJsonLinesHook : public TrainingHook {
 public:
  explicit StepJsonLinesHook(const std::string& path) : jsonl_(path, std::ios::app) {}

  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override {
    jsonl_ << step_json(stats, loop.steps_done(), loop.epoch_at(stats.step)) << std::endl;
  }

 private:
  std::ofstream jsonl_;
};

}  // namespace rfm::run
