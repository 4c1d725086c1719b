#include "trainer/run/training_run.h"

#include <ATen/Context.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "evaluation/evaluation_job.h"
#include "loader/training_data.h"
#include "proto/config_loader.h"
#include "sampler_state.pb.h"
#include "trainer/engine/heap_retention.h"
#include "trainer/engine/model_checkpoint.h"
#include "trainer/engine/random_identity_batches.h"
#include "trainer/model/memory_format.h"
#include "trainer/run/checkpoint_directory.h"
#include "trainer/run/console_progress.h"
#include "trainer/run/training_plots.h"
#include "trainer/run/stop_signals.h"
#include "trainer/run/tensorboard_log.h"

namespace rfm::run {
namespace {

namespace fs = std::filesystem;
using engine::Phase;

// Every rank reaches this point before any goes on (rank 0's checkpoint is
// on disk before another rank may exit).
void wait_for_all_ranks(comm::TensorTransport* transport, const torch::Device& device) {
  if (transport == nullptr) return;
  transport->all_reduce_sum(torch::zeros({1}, torch::TensorOptions(torch::kFloat32).device(device)));
}

at::Generator cuda_generator(const torch::Device& device) {
  return at::globalContext().defaultGenerator(device);
}

engine::TrainingState capture_state(engine::Trainer& trainer, const std::string& sampler_state, double best_map,
                                    int64_t best_step) {
  engine::TrainingState state;
  state.optimizer = &trainer.optimizer();
  state.cpu_rng_state = at::detail::getDefaultCPUGenerator().get_state();
  if (trainer.device().is_cuda()) state.cuda_rng_state = cuda_generator(trainer.device()).get_state();
  state.sampler_state = sampler_state;
  state.best_map = best_map;
  state.best_step = best_step;
  if (auto* scaler = trainer.loss_scaler()) state.loss_scaler = scaler->state();
  return state;
}

metrics::StepSample step_sample(const engine::StepStats& stats, int64_t steps_done, double epoch) {
  metrics::StepSample m;
  m.steps_done = steps_done;
  m.epoch = epoch;
  m.lr = stats.lr;
  m.images = stats.images;
  m.seconds = stats.seconds;
  m.data_seconds = stats.data_seconds;
  m.forward_seconds = stats.forward_seconds;
  m.backward_seconds = stats.backward_seconds;
  m.all_reduce_seconds = stats.all_reduce_seconds;
  m.optimizer_seconds = stats.optimizer_seconds;
  m.total = stats.total;
  m.id = stats.id;
  m.triplet = stats.triplet;
  m.centre = stats.centre;
  m.modality_id = stats.modality_id;
  m.visible_id = stats.visible_id;
  m.infrared_id = stats.infrared_id;
  m.loss_scale = stats.loss_scale;
  m.skipped = stats.skipped;
  return m;
}

// A JSON number, or null for NaN and infinities (an FP16 step that
// overflowed), which JSON cannot write.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream out;
  out << std::setprecision(9) << v;
  return out.str();
}

// One line of logs/rank-R.jsonl.
std::string step_json(const engine::StepStats& s, int64_t done, double epoch) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ostringstream j;
  j << "{\"step\": " << done << ", \"epoch\": " << json_number(epoch) << ", \"lr\": " << json_number(s.lr)
    << ", \"loss\": {\"total\": " << json_number(s.total) << ", \"id\": " << json_number(s.id)
    << ", \"triplet\": " << json_number(s.triplet) << ", \"centre\": " << json_number(s.centre)
    << ", \"modality_id\": " << json_number(s.modality_id) << ", \"visible_id\": " << json_number(s.visible_id)
    << ", \"infrared_id\": " << json_number(s.infrared_id) << "}, \"images\": " << s.images
    << ", \"seconds\": " << json_number(s.seconds) << ", \"data_seconds\": " << json_number(s.data_seconds)
    << ", \"forward_seconds\": " << json_number(s.forward_seconds)
    << ", \"backward_seconds\": " << json_number(s.backward_seconds)
    << ", \"all_reduce_seconds\": " << json_number(s.all_reduce_seconds)
    << ", \"optimizer_seconds\": " << json_number(s.optimizer_seconds)
    << ", \"grad_norm\": " << json_number(s.grad_norm) << ", \"loss_scale\": " << json_number(s.loss_scale)
    << ", \"skipped\": " << (s.skipped ? "true" : "false") << ", \"unix_time\": " << std::fixed
    << std::setprecision(3) << now << "}";
  return j.str();
}

// The first protocol's mean mAP (the config's first SYSU mode or RegDB
// direction): what "best" means.
double headline_map(const eval::EvaluationReport& report) {
  return report.results_size() > 0 ? report.results(0).map().mean() : -1.0;
}

}  // namespace

TrainingOutcome run_training(const config::RunConfig& requested, std::ostream& log, const WorkerContext& context) {
  const auto& placement = context.placement;
  const int rank = placement.rank;
  const int world = placement.world_size;
  const bool leader = rank == 0;
  auto phase = [&](Phase p, int64_t step) {
    if (context.on_phase) context.on_phase(p, step);
  };

  const engine::WorkerResources resources =
      context.resources ? *context.resources : engine::resolve_worker(requested, placement);
  config::RunConfig config = resources.config;
  const torch::Device device = resources.device;
  if (config.train().retain_freed_memory()) engine::retain_freed_memory();
  const int threads = resources.threads;
  torch::set_num_threads(threads);
  const bool random_identities = config.data().source() == config::DataConfig::RANDOM_IDENTITIES;

  // The batches: in-memory identities, or this rank's shard through the loader.
  std::unique_ptr<engine::RandomIdentityBatches> random;
  loader::TrainingData data;
  int64_t per_epoch = 0;
  if (random_identities) {
    const int64_t global = 2LL * config.data().ids_per_batch() * config.data().images_per_modality();
    if (global % world != 0) {
      throw config::ConfigError("data: a global batch of " + std::to_string(global) + " images cannot be split over " +
                                std::to_string(world) + " ranks; use a world size that divides it");
    }
    engine::RandomIdentityOptions o;
    o.num_identities = config.model().num_classes();
    o.images_per_identity = config.data().random_images_per_identity();
    o.height = config.data().height();
    o.width = config.data().width();
    o.ids_per_batch = config.data().ids_per_batch();
    o.per_modality = config.data().images_per_modality();
    o.seed = config.train().seed();
    o.horizontal_flip = config.data().horizontal_flip();
    random = std::make_unique<engine::RandomIdentityBatches>(o);
    per_epoch = config.train().steps_per_epoch() > 0 ? config.train().steps_per_epoch() : random->steps_per_epoch();
  } else {
    data = loader::open_training_data(config, rank, world, device.is_cuda(), log);
    const int64_t classes = data.set->num_classes();
    if (config.model().num_classes() == 0) {
      config.mutable_model()->set_num_classes(static_cast<int32_t>(classes));
    } else if (config.model().num_classes() != classes) {
      throw config::ConfigError("model.num_classes = " + std::to_string(config.model().num_classes()) + ": " +
                                data.set->name + " has " + std::to_string(classes) +
                                " training identities; set it to " + std::to_string(classes) + " or 0");
    }
    per_epoch = data.sampler->batches_per_epoch();
  }
  int64_t total = per_epoch * config.train().epochs();
  if (config.train().max_steps() > 0) total = std::min<int64_t>(total, config.train().max_steps());

  const fs::path run_dir(config.train().run_dir());
  const CheckpointDirectory checkpoints((run_dir / config.checkpoint().directory()).string());
  if (leader) {
    fs::create_directories(run_dir);
    std::ofstream cfg(run_dir / "config.pbtxt");
    cfg << config::to_text(config);
  }

  torch::manual_seed(config.train().seed());
  engine::Trainer trainer(config, device, context.transport);

  // Resume: every rank loads the same file (a shared run directory).
  TrainingOutcome outcome;
  if (config.checkpoint().resume()) {
    engine::TrainingState state;
    state.optimizer = &trainer.optimizer();
    auto resumed = checkpoints.resume_newest(log, [&](const std::string& path) {
      const auto info = engine::read_checkpoint_info(path);
      engine::load_model_weights(path, trainer.model());
      engine::load_training_state(path, &state);
      if (info.config_hash != engine::config_hash(config) && leader) {
        log << "warning: " << path << " was written with another configuration (hash " << info.config_hash
            << ", now " << engine::config_hash(config) << "); resuming with the current one\n";
      }
      outcome.first_step = info.step;
    });
    if (resumed) {
      if (state.cpu_rng_state.defined()) {
        at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
        cpu.set_state(state.cpu_rng_state);
      }
      if (state.cuda_rng_state.defined() && device.is_cuda()) {
        at::Generator cuda = cuda_generator(device);
        cuda.set_state(state.cuda_rng_state);
      }
      if (data.sampler && !state.sampler_state.empty()) {
        data::SamplerState saved;
        if (!saved.ParseFromString(state.sampler_state)) {
          throw engine::CheckpointError(*resumed + ": unreadable sampler state");
        }
        const int64_t at = data.sampler->step_of(saved);  // checks seed, batch shape and dataset
        if (at != outcome.first_step) {
          throw engine::CheckpointError(*resumed + ": sampler position " + std::to_string(at) +
                                        " disagrees with step " + std::to_string(outcome.first_step));
        }
      }
      outcome.best_map = state.best_map;
      outcome.best_step = state.best_step;
      if (auto* scaler = trainer.loss_scaler(); scaler && state.loss_scaler.scale > 0) {
        scaler->restore(state.loss_scaler);
      }
      // Loading sets each weight to the file's layout: put the configured one back.
      if (config.train().channels_last()) model::convert_to_channels_last(*trainer.model());
      if (leader) log << "resumed from " << *resumed << " at step " << outcome.first_step << "\n";
    }
  }
  if (data.loader) data.loader->start(outcome.first_step);
  // In-memory identities: every rank draws the global batch and keeps its
  // contiguous share, as the sampler's shard() does for datasets.
  auto next_batch = [&](int64_t step) {
    if (!random) return data.loader->next();
    auto b = random->batch(step);
    if (world == 1) return b;
    const int64_t per = b.images.size(0) / world;
    const auto rows = torch::arange(rank * per, (rank + 1) * per, torch::kInt64);
    return engine::TrainBatch{b.images.index_select(0, rows), b.labels.index_select(0, rows),
                              b.modality.index_select(0, rows), rows};
  };
  auto sampler_state_at = [&](int64_t step) {
    return data.sampler ? data.sampler->state_at_step(step).SerializeAsString() : std::string();
  };

  const auto& d = config.data();
  if (leader) {
    log << "rfm train: steps " << outcome.first_step << ".." << total << " (" << per_epoch << " per epoch), "
        << world << " rank(s)" << (context.transport ? std::string(" over ") + context.transport->backend_name() : "")
        << ", global batch " << d.ids_per_batch() << " x (" << d.images_per_modality() << "+"
        << d.images_per_modality() << ") at " << d.height() << "x" << d.width() << ", "
        << config.model().num_classes() << " classes, ResNet-" << config.model().depth() << ", " << threads
        << " threads per rank, device " << device.str() << ", "
        << config::TrainConfig::Precision_Name(config.train().precision())
        << (config.train().channels_last() ? " channels-last" : "");
    if (context.restarts > 0) log << ", restart " << context.restarts << " of the job";
    if (context.requeues > 0) log << ", Slurm requeue " << context.requeues;
    log << std::endl;
  }
  std::ofstream tsv;
  if (leader) {
    const bool append = outcome.first_step > 0 && fs::exists(run_dir / "train_log.tsv");
    tsv.open(run_dir / "train_log.tsv", append ? std::ios::app : std::ios::trunc);
    if (!append) {
      tsv << "step\tepoch\tlr\tloss\tid\ttriplet\tcentre\tmodality_id\tseconds\tltg_rectangles\tdata_seconds\tgrad_norm\tloss_scale\tskipped\n";
    }
  }

  // Every rank's steps as JSON lines (rank 0's also in train_log.tsv).
  fs::create_directories(run_dir / "logs");
  std::ofstream jsonl(run_dir / "logs" / ("rank-" + std::to_string(rank) + ".jsonl"), std::ios::app);
  ConsoleProgress progress(log, context.terminal && leader, outcome.first_step, total,
                           config.metrics().log_every_steps());
  std::unique_ptr<TensorBoardLog> tensorboard;
  if (leader && config.metrics().tensorboard()) {
    tensorboard = std::make_unique<TensorBoardLog>((run_dir / "tensorboard").string(), outcome.first_step, world, log);
  }
  auto* metrics = context.metrics;
  if (metrics) metrics->set_total_steps(total);
  // Every rank reports the job's checkpoint (rank 0 writes, the others wait
  // for it): each rank's series then shows the checkpoint age.
  auto checkpoint_written = [&](std::chrono::steady_clock::time_point since) {
    if (metrics) metrics->record_checkpoint(std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  };
  auto save = [&](int64_t done) {
    progress.interrupt();
    phase(Phase::kCheckpoint, done);
    const auto started = std::chrono::steady_clock::now();
    if (leader) {
      const auto path = checkpoints.step_path(done);
      const auto state = capture_state(trainer, sampler_state_at(done), outcome.best_map, outcome.best_step);
      engine::save_model_checkpoint(path, trainer.model(), config, done,
                                    static_cast<double>(done) / static_cast<double>(per_epoch), &state);
      checkpoints.keep_newest(config.checkpoint().keep_last());
      outcome.last_checkpoint = path;
    }
    wait_for_all_ranks(context.transport.get(), device);
    checkpoint_written(started);
  };

  auto evaluate = [&](int64_t done) {
    phase(Phase::kEvaluate, done);
    if (leader) {
      eval::EvaluationRequest request;
      request.config = config;
      request.checkpoints = {outcome.last_checkpoint};
      request.out_dir = (run_dir / "eval" / ("step-" + std::to_string(done))).string();
      const auto report = eval::run_evaluation(request, log);
      trainer.model()->train();
      const double map = headline_map(report);
      const bool new_log = !fs::exists(run_dir / "eval_log.tsv");
      std::ofstream eval_log(run_dir / "eval_log.tsv", std::ios::app);
      if (new_log) eval_log << "step\tprotocol\trank1\tmap\tminp\n";
      for (const auto& r : report.results()) {
        eval_log << done << '\t' << r.name() << '\t' << 100 * r.rank1().mean() << '\t' << 100 * r.map().mean() << '\t'
                 << 100 * r.minp().mean() << '\n';
        if (metrics) {
          metrics->record_evaluation(r.name(), 100 * r.rank1().mean(), 100 * r.map().mean(), 100 * r.minp().mean());
        }
      }
      if (tensorboard) tensorboard->record_evaluation(report, done);
      log << std::fixed << std::setprecision(2) << "evaluation at step " << done << ": mAP " << 100 * map
          << (map > outcome.best_map ? " (best so far)" : "") << std::endl;
      if (map > outcome.best_map) {
        outcome.best_map = map;
        outcome.best_step = done;
        fs::copy_file(outcome.last_checkpoint, checkpoints.best_path() + ".tmp", fs::copy_options::overwrite_existing);
        fs::rename(checkpoints.best_path() + ".tmp", checkpoints.best_path());
      }
    }
    wait_for_all_ranks(context.transport.get(), device);
  };

  // Idempotent; `rfm train` started it before any thread existed.
  start_stop_signal_watcher();
  const auto& c = config.checkpoint();
  const int eval_every = config.train().eval_every_epochs();
  for (int64_t s = outcome.first_step; s < total; ++s) {
    const double epoch = static_cast<double>(s) / static_cast<double>(per_epoch);
    phase(Phase::kData, s);
    const auto wait_start = std::chrono::steady_clock::now();
    auto batch = next_batch(s);
    const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
    engine::StepStats stats;
    try {
      stats = trainer.step(batch, s, epoch, stop_signal_received() != 0, [&](Phase p) { phase(p, s); });
    } catch (const engine::NonFiniteLossError&) {
      if (metrics) metrics->record_non_finite();
      throw;
    }
    stats.data_seconds = data_seconds;
    if (metrics) metrics->record_step(step_sample(stats, s + 1, epoch));
    outcome.history.push_back(stats);
    if (context.on_step) context.on_step(stats);
    const int64_t done = s + 1;
    if (leader) {
      tsv << s << '\t' << epoch << '\t' << stats.lr << '\t' << stats.total << '\t' << stats.id << '\t'
          << stats.triplet << '\t' << stats.centre << '\t' << stats.modality_id << '\t' << stats.seconds << '\t'
          << stats.ltg_rectangles << '\t' << stats.data_seconds << '\t' << stats.grad_norm << '\t'
          << stats.loss_scale << '\t' << (stats.skipped ? 1 : 0) << '\n';
      if (s % config.metrics().log_every_steps() == 0 || done == total) tsv.flush();
      if (tensorboard) tensorboard->record_step(stats, done, epoch);
    }
    if (leader) progress.step(stats, done, epoch, world);
    jsonl << step_json(stats, done, epoch) << std::endl;
    const bool epoch_end = done % per_epoch == 0;
    const int64_t epochs_done = done / per_epoch;
    const bool evaluate_now = epoch_end && eval_every > 0 && epochs_done % eval_every == 0;
    const bool periodic = (c.every_steps() > 0 && done % c.every_steps() == 0) ||
                          (epoch_end && c.every_epochs() > 0 && epochs_done % c.every_epochs() == 0);
    if (stats.stop_requested || periodic || evaluate_now || done == total) save(done);
    if (evaluate_now) evaluate(done);
    outcome.final_step = done;
    if (stats.stop_requested) {
      progress.interrupt();
      outcome.stopped_by_signal = true;
      if (leader) log << "stop requested (SIGTERM/SIGUSR1): checkpoint " << outcome.last_checkpoint << " written at step " << done << std::endl;
      break;
    }
  }
  if (!outcome.stopped_by_signal) {
    outcome.final_step = total;
    const auto started = std::chrono::steady_clock::now();
    if (leader) {
      // The final weights under a fixed name: what `rfm evaluate` reads.
      const auto state = capture_state(trainer, sampler_state_at(total), outcome.best_map, outcome.best_step);
      engine::save_model_checkpoint(checkpoints.last_path(), trainer.model(), config, total,
                                    static_cast<double>(total) / static_cast<double>(per_epoch), &state);
      log << "checkpoint " << checkpoints.last_path() << std::endl;
    }
    wait_for_all_ranks(context.transport.get(), device);
    checkpoint_written(started);
  }
  phase(Phase::kDone, outcome.final_step);
  progress.interrupt();
  if (leader) {
    try {
      for (const auto& png : write_training_plots(run_dir.string())) log << "plot " << png << "\n";
    } catch (const std::exception& e) {
      log << "warning: no training plots: " << e.what() << "\n";  // the run itself succeeded
    }
  }
  if (leader && !outcome.history.empty()) {
    double seconds = 0;
    for (const auto& h : outcome.history) seconds += h.seconds;
    log << std::fixed << std::setprecision(3) << "done: " << outcome.history.size() << " steps, mean step "
        << seconds / static_cast<double>(outcome.history.size()) << " s, peak RSS " << std::setprecision(0)
        << engine::peak_rss_mib() << " MiB; log in " << (run_dir / "train_log.tsv").string() << std::endl;
  }
  return outcome;
}

}  // namespace rfm::run
