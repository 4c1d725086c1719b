#pragma once
// Rank 0 draws the run's plots (training_plots.h) when the steps end.  A
// plot that fails is a warning: the run itself succeeded.

#include <exception>
#include <string>

#include "trainer/run/training_loop.h"
#include "trainer/run/training_plots.h"

namespace rfm::run {

class TrainingPlotsHook : public TrainingHook {
 public:
  explicit TrainingPlotsHook(std::string run_dir) : run_dir_(std::move(run_dir)) {}

  void after_train(TrainingLoop& loop) override {
    try {
      for (const auto& png : write_training_plots(run_dir_)) loop.log() << "plot " << png << "\n";
    } catch (const std::exception& e) {
      loop.log() << "warning: no training plots: " << e.what() << "\n";
    }
  }

 private:
  std::string run_dir_;
};

}  // namespace rfm::run
