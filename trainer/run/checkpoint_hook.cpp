#include "trainer/run/checkpoint_hook.h"

#include <ATen/Context.h>

#include <chrono>

#include "trainer/model_io/model_checkpoint.h"
#include "trainer/run/rank_barrier.h"

namespace rfm::run {

void CheckpointHook::after_step(TrainingLoop& loop, const engine::StepStats& stats) {
  const int64_t done = loop.steps_done();
  if (!(stats.stop_requested || run_.schedule.checkpoints_after(done) || run_.schedule.evaluates_after(done) ||
        done == loop.total_steps())) {
    return;
  }
  save(loop, Kind::kStep, done);
}

void CheckpointHook::after_train(TrainingLoop& loop) {
  if (loop.outcome().stopped_by_signal) return;  // its step checkpoint is the newest state
  // The final weights under a fixed name: what `rfm evaluate` reads.
  save(loop, Kind::kLast, loop.total_steps());
  if (run_.leader) loop.log() << "checkpoint " << run_.checkpoints.last_path() << std::endl;
}

void CheckpointHook::save(TrainingLoop& loop, Kind kind, int64_t steps_done) {
  const std::string path = kind == Kind::kStep ? run_.checkpoints.step_path(steps_done) : run_.checkpoints.last_path();
  loop.end_progress_line();  // before the pause a checkpoint makes
  loop.enter_phase(engine::Phase::kCheckpoint, steps_done);
  const auto started = std::chrono::steady_clock::now();
  auto& outcome = loop.outcome();
  if (run_.leader) {
    model_io::TrainingState state;
    state.optimizer = &run_.trainer.optimizer();
    state.cpu_rng_state = at::detail::getDefaultCPUGenerator().get_state();
    if (run_.trainer.device().is_cuda()) {
      state.cuda_rng_state = at::globalContext().defaultGenerator(run_.trainer.device()).get_state();
    }
    state.sampler_state = loop.source().position_after(steps_done);
    state.best_map = outcome.best_map;
    state.best_step = outcome.best_step;
    if (auto* scaler = run_.trainer.loss_scaler()) state.loss_scaler = scaler->state();
    model_io::save_model_checkpoint(path, run_.trainer.model(), run_.config, steps_done, loop.epoch_at(steps_done),
                                    &state);
    if (kind == Kind::kStep) {
      run_.checkpoints.keep_newest(run_.config.checkpoint().keep_last());
      outcome.last_checkpoint = path;
    }
  }
  wait_for_all_ranks(run_.transport.get());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  loop.checkpoint_written(run_.leader ? path : std::string(), seconds);
}

}  // namespace rfm::run
