#pragma once
// Resume: the newest readable step checkpoint of the run directory restores
// the weights, the optimizer, the RNG states, the loss scale and the best
// evaluation, after the batch source has confirmed its saved position.
// Every rank loads the same file (a shared run directory).

#include <ostream>

#include "trainer/engine/trainer.h"
#include "trainer/run/batch_source.h"
#include "trainer/run/checkpoint_directory.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

// The outcome a run starts from: first_step, best_map and best_step set
// from the checkpoint; all defaults when none loads (a fresh start).
TrainingOutcome resume_training(const CheckpointDirectory& checkpoints, const config::RunConfig& config,
                                engine::Trainer& trainer, const BatchSource& source, bool leader, std::ostream& log);

}  // namespace rfm::run
