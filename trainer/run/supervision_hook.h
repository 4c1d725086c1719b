#pragma once
// Tells the launcher's supervision what the worker does: every phase change
// (heartbeats) and every finished step (throughput).

#include <functional>

#include "trainer/run/training_loop.h"

namespace rfm::run {

class SupervisionHook : public TrainingHook {
 public:
  SupervisionHook(std::function<void(engine::Phase, int64_t)> on_phase,
                  std::function<void(const engine::StepStats&)> on_step)
      : on_phase_(std::move(on_phase)), on_step_(std::move(on_step)) {}

  void on_phase(engine::Phase phase, int64_t step) override {
    if (on_phase_) on_phase_(phase, step);
  }
  void after_step(TrainingLoop& /*loop*/, const engine::StepStats& stats) override {
    if (on_step_) on_step_(stats);
  }

 private:
  std::function<void(engine::Phase, int64_t)> on_phase_;
  std::function<void(const engine::StepStats&)> on_step_;
};

}  // namespace rfm::run
