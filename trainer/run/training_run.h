#pragma once
// The training job of one worker: the batch source (this rank's shard), the
// Trainer, resume, and the training loop with its hooks (checkpoints,
// evaluation with the best model kept, the run directory's logs, metrics,
// stop signals, supervision), assembled per the config.

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "comm/process_placement.h"
#include "comm/tensor_transport.h"
#include "rfm_config.pb.h"
#include "metrics/training_metrics.h"
#include "trainer/engine/trainer.h"
#include "trainer/process/worker_resources.h"
#include "trainer/run/training_loop.h"

namespace rfm::run {

struct WorkerContext {
  comm::ProcessPlacement placement;                 // rank 0 of 1 by default
  // The worker's device, threads and effective configuration, resolved
  // once (process::resolve_worker) by whoever built the transport and the
  // metrics for that device; unset: run_training resolves them itself.
  std::optional<process::WorkerResources> resources;
  std::shared_ptr<comm::TensorTransport> transport;  // nullptr: one process
  // Told every phase change with the step it belongs to (heartbeats).
  std::function<void(engine::Phase, int64_t step)> on_phase;
  // Told each finished step's statistics (throughput for the supervisor).
  std::function<void(const engine::StepStats&)> on_step;
  // This worker's Prometheus metrics (steps, checkpoints, evaluations, a
  // non-finite stop); nullptr: none.
  metrics::TrainingMetrics* metrics = nullptr;
  // Rank 0's `log` is a terminal: draw a progress bar instead of a line
  // every metrics.log_every_steps steps.
  bool terminal = false;
  // How often this job was started before (the launcher's restarts after a
  // failure, Slurm's requeues): the first log line says so.
  int restarts = 0, requeues = 0;
};


// Trains per `config`.  Rank 0 writes <run_dir>/{config.pbtxt, train_log.tsv,
// checkpoints/, eval/}; every rank logs to `log`.  Throws
// engine::NonFiniteLossError at a non-finite loss or gradient (the last
// checkpoint stays), config::ConfigError, model_io::CheckpointError.
TrainingOutcome run_training(const config::RunConfig& config, std::ostream& log, const WorkerContext& context = {});

}  // namespace rfm::run
