#pragma once
// The run as the checkpoint and evaluation hooks act on it: what to save
// and evaluate (the config, the Trainer), where (the checkpoint directory),
// when (the schedule), and who writes (rank 0) while the others wait.

#include <memory>

#include "comm/tensor_transport.h"
#include "trainer/engine/trainer.h"
#include "trainer/run/checkpoint_directory.h"
#include "trainer/run/run_schedule.h"

namespace rfm::run {

struct CheckpointedRun {
  const config::RunConfig& config;
  engine::Trainer& trainer;
  CheckpointDirectory checkpoints;
  RunSchedule schedule;
  bool leader;                                     // rank 0: writes and evaluates
  std::shared_ptr<comm::TensorTransport> transport;  // nullptr: one process
};

}  // namespace rfm::run
