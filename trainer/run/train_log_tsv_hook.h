#pragma once
// Rank 0's <run_dir>/train_log.tsv: one row per step (the step is 0-based),
// the loss terms in loss_terms.h's order.  A resumed run appends; a file
// with other columns (an older version's) is kept beside it under a new
// name and a fresh one starts.

#include <fstream>
#include <string>

#include "trainer/run/training_loop.h"

namespace rfm::run {

// The header line, without its newline.
std::string train_log_header();

class TrainLogTsvHook : public TrainingHook {
 public:
  TrainLogTsvHook(std::string path, int flush_every_steps) : path_(std::move(path)), flush_every_(flush_every_steps) {}

  void before_train(TrainingLoop& loop) override;
  void after_step(TrainingLoop& loop, const engine::StepStats& stats) override;
  void after_train(TrainingLoop& loop) override { tsv_.close(); }

 private:
  std::string path_;
  int flush_every_;
  std::ofstream tsv_;
};

}  // namespace rfm::run
