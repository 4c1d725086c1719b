#include "trainer/run/training_resume.h"

#include <ATen/Context.h>

#include "trainer/model_io/model_checkpoint.h"
#include "trainer/model/memory_format.h"

namespace rfm::run {

TrainingOutcome resume_training(const CheckpointDirectory& checkpoints, const config::RunConfig& config,
                                engine::Trainer& trainer, const BatchSource& source, bool leader, std::ostream& log) {
  TrainingOutcome outcome;
  model_io::TrainingState state;
  state.optimizer = &trainer.optimizer();
  auto resumed = checkpoints.resume_newest(log, [&](const std::string& path) {
    const auto info = model_io::read_checkpoint_info(path);
    model_io::load_model_weights(path, trainer.model());
    model_io::load_training_state(path, &state);
    if (info.config_hash != model_io::config_hash(config) && leader) {
      log << "warning: " << path << " was written with another configuration (hash " << info.config_hash
          << ", now " << model_io::config_hash(config) << "); resuming with the current one\n";
    }
    outcome.first_step = info.step;
  });
  if (!resumed) return outcome;
  if (state.cpu_rng_state.defined()) {
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
    cpu.set_state(state.cpu_rng_state);
  }
  if (state.cuda_rng_state.defined() && trainer.device().is_cuda()) {
    at::Generator cuda = at::globalContext().defaultGenerator(trainer.device());
    cuda.set_state(state.cuda_rng_state);
  }
  source.check_resume_position(state.sampler_state, outcome.first_step, *resumed);
  outcome.best_map = state.best_map;
  outcome.best_step = state.best_step;
  if (auto* scaler = trainer.loss_scaler(); scaler && state.loss_scaler.scale > 0) {
    scaler->restore(state.loss_scaler);
  }
  // Loading sets each weight to the file's layout: put the configured one back.
  if (config.train().channels_last()) model::convert_to_channels_last(*trainer.model());
  if (leader) log << "resumed from " << *resumed << " at step " << outcome.first_step << "\n";
  return outcome;
}

}  // namespace rfm::run
