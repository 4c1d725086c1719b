#include "trainer/run/training_run.h"

#include <filesystem>
#include <fstream>

#include "evaluation/evaluation_job.h"
#include "proto/config_loader.h"
#include "trainer/engine/heap_retention.h"
#include "trainer/run/checkpoint_hook.h"
#include "trainer/run/console_log_hook.h"
#include "trainer/run/evaluation_hook.h"
#include "trainer/run/metrics_hook.h"
#include "trainer/run/step_json_lines_hook.h"
#include "trainer/run/stop_signal_hook.h"
#include "trainer/run/supervision_hook.h"
#include "trainer/run/tensorboard_log.h"
#include "trainer/run/train_log_tsv_hook.h"
#include "trainer/run/training_plots_hook.h"
#include "trainer/run/training_resume.h"

namespace rfm::run {
namespace {

namespace fs = std::filesystem;

// Rank 0's first line: what this run is.
void log_run_banner(std::ostream& log, const config::RunConfig& config, const process::WorkerResources& resources,
                    const WorkerContext& context, int64_t first_step, int64_t total, int64_t per_epoch) {
  const auto& d = config.data();
  log << "rfm train: steps " << first_step << ".." << total << " (" << per_epoch << " per epoch), "
      << context.placement.world_size << " rank(s)"
      << (context.transport ? std::string(" over ") + context.transport->backend_name() : "") << ", global batch "
      << d.ids_per_batch() << " x (" << d.images_per_modality() << "+" << d.images_per_modality() << ") at "
      << d.height() << "x" << d.width() << ", " << config.model().num_classes() << " classes, ResNet-"
      << config.model().depth() << ", " << resources.threads << " threads per rank, device "
      << resources.device.str() << ", " << config::TrainConfig::Precision_Name(config.train().precision())
      << (config.train().channels_last() ? " channels-last" : "");
  if (context.restarts > 0) log << ", restart " << context.restarts << " of the job";
  if (context.requeues > 0) log << ", Slurm requeue " << context.requeues;
  log << std::endl;
}

}  // namespace

TrainingOutcome run_training(const config::RunConfig& requested, std::ostream& log, const WorkerContext& context) {
  const int rank = context.placement.rank;
  const int world = context.placement.world_size;
  const bool leader = rank == 0;

  const process::WorkerResources resources =
      context.resources ? *context.resources : process::resolve_worker(requested, context.placement);
  config::RunConfig config = resources.config;
  const torch::Device device = resources.device;
  if (config.train().retain_freed_memory()) engine::retain_freed_memory();
  torch::set_num_threads(resources.threads);

  // May set model.num_classes from the dataset: before the model exists.
  auto source = open_batch_source(config, context.placement, device.is_cuda(), log);
  const int64_t per_epoch = source->steps_per_epoch();
  int64_t total = per_epoch * config.train().epochs();
  if (config.train().max_steps() > 0) total = std::min<int64_t>(total, config.train().max_steps());

  // A run without an evaluation protocol trains and checkpoints, and says
  // once why it never evaluates, rather than failing at its first epoch.
  if (config.train().eval_every_epochs() > 0 && !evaluation::has_evaluation_protocol(config.data().source())) {
    if (leader) {
      log << "rfm train: data.source = " << config::DataConfig::Source_Name(config.data().source())
          << " has no evaluation protocol (SYSU_MM01, REGDB and LLCM have): no in-run evaluation" << std::endl;
    }
    config.mutable_train()->set_eval_every_epochs(0);
  }

  const fs::path run_dir(config.train().run_dir());
  const CheckpointDirectory checkpoints((run_dir / config.checkpoint().directory()).string());
  if (leader) {
    fs::create_directories(run_dir);
    std::ofstream(run_dir / "config.pbtxt") << config::to_text(config);
  }

  torch::manual_seed(config.train().seed());
  engine::Trainer trainer(config, device, context.transport);
  TrainingOutcome resumed;
  if (config.checkpoint().resume()) resumed = resume_training(checkpoints, config, trainer, *source, leader, log);
  if (leader) log_run_banner(log, config, resources, context, resumed.first_step, total, per_epoch);

  TrainingLoop loop(
      *source,
      [&trainer](const loader::TrainBatch& batch, int64_t step, double epoch, bool request_stop,
                 const std::function<void(engine::Phase)>& on_phase) {
        return trainer.step(batch, step, epoch, request_stop, on_phase);
      },
      resumed, total, log);
  // The order matters where one hook reads another's work: the logs see a
  // step before its checkpoint, the evaluation (after_epoch) reads that
  // checkpoint, the stop message names it, the plots read the closed log.
  const auto schedule = RunSchedule::of(config, per_epoch);
  const std::string train_log = (run_dir / "train_log.tsv").string();
  loop.add(std::make_unique<SupervisionHook>(context.on_phase, context.on_step));
  if (context.metrics) loop.add(std::make_unique<MetricsHook>(*context.metrics));
  if (leader) {
    loop.add(std::make_unique<TrainLogTsvHook>(train_log, config.metrics().log_every_steps()));
    if (config.metrics().tensorboard()) {
      loop.add(std::make_unique<TensorBoardLog>((run_dir / "tensorboard").string(), resumed.first_step, world, log));
    }
    loop.add(std::make_unique<ConsoleLogHook>(log, context.terminal, config.metrics().log_every_steps(), world));
  }
  fs::create_directories(run_dir / "logs");
  const auto jsonl = run_dir / "logs" / ("rank-" + std::to_string(rank) + ".jsonl");
  loop.add(std::make_unique<StepJsonLinesHook>(jsonl.string()));
  const CheckpointedRun checkpointed{config, trainer, checkpoints, schedule, leader, context.transport};
  loop.add(std::make_unique<CheckpointHook>(checkpointed));
  loop.add(std::make_unique<StopSignalHook>(leader));
  loop.add(std::make_unique<EvaluationHook>(checkpointed));
  if (leader) {
    loop.add(std::make_unique<TrainingPlotsHook>(run_dir.string()));
    loop.add(std::make_unique<RunSummaryHook>(train_log));
  }
  return loop.run();
}

}  // namespace rfm::run
