// rfm: the command-line front of rfm-cluster.
//   rfm train        [--config F] [--set path=value]...      one worker (alone, or under mpirun/srun)
//   rfm launch       --np N [--max-restarts R] [--mpirun-arg A]... [--config F] [--set ...]   N workers through mpirun, supervised
//   rfm status       [--address HOST:PORT | --run-dir DIR | --config F]    a running job's ranks
//   rfm plot         [--run-dir DIR | --config F]      PNG plots of a run's history
//   rfm check-config [--config F] [--set path=value]...
//   rfm ltg-preview  [--config F] [--set ...] --out grid.png [--count N] [--seed S] [image.png ...]
//   rfm synthesize   [--config F] [--set ...]      writes the synthetic dataset
//   rfm validate     [--config F] [--set ...]      checks data.source's dataset
//   rfm pack         [--config F] [--set ...]      writes data.pack
//   rfm evaluate     [--config F] [--set ...] [--checkpoint P]... [--out DIR] [--export-features DIR]
//   rfm grid         expand|pending|collect --grid G.pbtxt   hyperparameter grids (slurm/submit-grid)
//   rfm evaluate-features --features DIR... [--dataset sysu-mm01|regdb] [--config F] [--set ...] --out DIR
//   rfm inspect      --checkpoint P                step, config hash, weights digest
//   rfm export       --checkpoint P --format safetensors|pth --out FILE   the model for PyTorch
//   rfm embed        --checkpoint P --images DIR|MANIFEST --out DIR       features of any images
//   rfm search       --features DIR --query IMG... [--top-k K]            their nearest gallery images
// Exit codes: 0 success, 1 runtime failure, 2 bad command line or
// configuration, 3 non-finite loss or gradient, 4 bad dataset or pack,
// 5 unreadable checkpoint or feature file, 6 a rank died or hung
// (supervisor), 75 stopped by SIGTERM/SIGUSR1 with a checkpoint written
// (requeue).

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "dataset/dataset_source.h"
#include "dataset/image_codec.h"
#include "dataset/synthetic/synthetic_dataset.h"
#include "evaluation/evaluation_job.h"
#include "evaluation/npy_file.h"
#include "proto/config_validation.h"
#include "trainer/engine/model_checkpoint.h"
#include "loader/training_data.h"
#include "proto/config_loader.h"
#include "sampler/identity_batch_sampler.h"
#include "trainer/augment/ltg_preview.h"
#include "trainer/engine/config_bridge.h"
#include "trainer/engine/trainer.h"
#include "comm/mpi_session.h"
#include "comm/transport_factory.h"
#include "trainer/run/stop_signals.h"
#include "trainer/run/training_plots.h"
#include "trainer/run/training_run.h"
#include "control/status_query.h"
#include "evaluation/image_search.h"
#include "launcher/grid_command.h"
#include "launcher/model_export_command.h"
#include "launcher/job_launcher.h"
#include "launcher/worker_metrics.h"
#include "launcher/worker_supervision.h"
#include "trainer/model/state_dict_file.h"

namespace {

constexpr int kUsageError = 2;
constexpr int kNonFinite = 3;
constexpr int kBadDataset = 4;
constexpr int kBadInput = 5;  // an unreadable checkpoint or feature file

const char* kUsage =
    "usage: rfm <command> [options]\n"
    "commands:\n"
    "  train          train RFM on data.source (a dataset, or in-memory random identities); one worker,\n"
    "                 alone or as a rank under mpirun / srun --mpi=pmix\n"
    "  launch         start --np workers through mpirun with a supervisor (dead or hung ranks end the job)\n"
    "  status         each rank's step, phase and throughput, from a running job's supervisor\n"
    "  plot           PNG plots of a run's loss terms, lr and evaluations (also while it runs)\n"
    "  check-config   validate a configuration and print the effective one\n"
    "  ltg-preview    write a PNG grid of images (JPEG, PNG or BMP) and their LTG outputs (Fig. 9)\n"
    "  synthesize     write the synthetic VIS/NIR dataset (synthetic.*) to synthetic.output or data.root\n"
    "  validate       check data.source's dataset: layout, split files, every image decoded\n"
    "  pack           decode and resize the dataset once into data.pack\n"
    "  evaluate       SYSU-MM01 / RegDB protocol on data.source's test set: checkpoint(s) or the untrained model\n"
    "  grid           expand|pending|collect --grid G.pbtxt: a hyperparameter grid's point configs, the\n"
    "                 array indices still to run (slurm/submit-grid), its results as CSV, Markdown, PNG\n"
    "  evaluate-features  the same protocols on exported or foreign features (.npy + labels), no model\n"
    "  inspect        --checkpoint FILE: its step, configuration hash and a digest of its weights\n"
    "  export         --checkpoint FILE --format safetensors|pth --out FILE: the model's state dict for PyTorch\n"
    "                 (python/rfm_model.py loads it)\n"
    "  embed          --checkpoint FILE --images DIR|MANIFEST --out DIR: features of any images, as a feature directory\n"
    "  search         --features DIR --query IMG... [--top-k K]: the nearest embedded images to each query, printed\n"
    "                 and drawn (--out PNG, default DIR/search.png)\n"
    "options:\n"
    "  --config FILE        protobuf text-format run configuration (configs/*.pbtxt)\n"
    "  --set PATH=VALUE     override one field, e.g. --set ltg.probability=0.7 (repeatable)\n"
    "  --out FILE           ltg-preview, search: output PNG; export: the exported file\n"
    "  --count N            ltg-preview: number of generated figures when no images are given (default 8)\n"
    "  --seed S             ltg-preview: draw seed (default 1)\n"
    "  --checkpoint FILE    evaluate, inspect, export, embed, search: a model checkpoint (repeatable for evaluate:\n"
    "                       RegDB trials); without --config its stored configuration is used\n"
    "  --out DIR            evaluate, evaluate-features: report directory (default <train.run_dir>/eval); embed: the\n"
    "                       feature directory\n"
    "  --export-features DIR  evaluate: also write query/gallery .npy, labels and paths\n"
    "  --features DIR       evaluate-features: a feature directory (repeatable: RegDB trials); search: rfm embed's\n"
    "  --dataset NAME       evaluate-features: sysu-mm01, regdb or llcm (default: the directory's features.pbtxt)\n"
    "  --image-root DIR     evaluate-features: where the paths files' images are (rank lists)\n"
    "  --format F           export: safetensors or pth\n"
    "  --images DIR|FILE    embed: a folder of images (searched recursively) or a TSV manifest\n"
    "  --query IMG          search: a query image (repeatable)\n"
    "  --top-k K            search: gallery images per query (default 10)\n"
    "  --modality M         embed, search: auto (grey images are infrared; a manifest's column), visible or infrared\n"
    "  --np N               launch: number of workers (MPI ranks)\n"
    "  --max-restarts R     launch: start a failed job again up to R times (a rank died or hung, a runtime\n"
    "                       failure); it resumes from its newest checkpoint (default 0)\n"
    "  --mpirun-arg A       launch: pass A to mpirun (repeatable), e.g. --mpirun-arg --hostfile --mpirun-arg hosts\n"
    "  --address HOST:PORT  status: the supervisor (default: <run dir>/supervisor.address)\n"
    "  --grid FILE          grid: the grid file (proto/grid.proto's GridSpec in text format)\n"
    "  --run-dir DIR        status, plot: the job's run directory (default train.run_dir of --config)\n";

struct Arguments {
  std::string command;
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  int count = 8;
  uint64_t seed = 1;
  std::vector<std::string> inputs;
  std::vector<std::string> checkpoints, features;
  std::string export_features, dataset, image_root;
  int processes = 0;
  int max_restarts = 0;
  std::vector<std::string> mpirun_args;
  std::string address, run_dir;
  std::string grid;
  std::string format, images, modality = "auto";
  std::vector<std::string> queries;
  int top_k = 10;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  if (argc < 2) throw UsageError("missing command");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--config") a.config = value();
      else if (arg == "--set") a.overrides.push_back(value());
      else if (arg == "--out") a.out = value();
      else if (arg == "--count") a.count = std::stoi(value());
      else if (arg == "--seed") a.seed = std::stoull(value());
      else if (arg == "--checkpoint") a.checkpoints.push_back(value());
      else if (arg == "--features") a.features.push_back(value());
      else if (arg == "--export-features") a.export_features = value();
      else if (arg == "--dataset") a.dataset = value();
      else if (arg == "--image-root") a.image_root = value();
      else if (arg == "--np") a.processes = std::stoi(value());
      else if (arg == "--max-restarts") a.max_restarts = std::stoi(value());
      else if (arg == "--mpirun-arg") a.mpirun_args.push_back(value());
      else if (arg == "--address") a.address = value();
      else if (arg == "--run-dir") a.run_dir = value();
      else if (arg == "--grid") a.grid = value();
      else if (arg == "--format") a.format = value();
      else if (arg == "--images") a.images = value();
      else if (arg == "--query") a.queries.push_back(value());
      else if (arg == "--top-k") a.top_k = std::stoi(value());
      else if (arg == "--modality") a.modality = value();
      else if (arg.rfind("--", 0) == 0) throw UsageError("unknown option " + arg);
      else a.inputs.push_back(arg);
    } catch (const std::logic_error&) {
      throw UsageError(arg + ": not a number: " + argv[i]);
    }
  }
  return a;
}

int ltg_preview(const Arguments& a, const rfm::config::RunConfig& config) {
  if (a.out.empty()) throw UsageError("ltg-preview needs --out FILE.png");
  if (a.count < 1 || a.count > 256) throw UsageError("--count must be in [1, 256]");
  const int64_t h = config.data().height(), w = config.data().width();
  std::vector<torch::Tensor> images;
  for (const auto& path : a.inputs) {
    // Any dataset image (JPEG, PNG, BMP) as a [3, H, W] float tensor in [0, 1].
    const auto img = rfm::data::read_image_file(path);
    images.push_back(torch::from_blob(const_cast<uint8_t*>(img.pixels.data()), {img.height, img.width, 3}, torch::kUInt8)
                         .permute({2, 0, 1})
                         .to(torch::kFloat32)
                         .div(255.0));
  }
  if (images.empty()) {
    for (int i = 0; i < a.count; ++i) images.push_back(rfm::augment::draw_test_figure(a.seed * 1000 + i, h, w));
  }
  rfm::augment::write_ltg_preview(a.out, images, rfm::engine::ltg_options(config.ltg()), a.seed, h, w);
  std::cout << "wrote " << a.out << " (" << images.size() << " inputs over their LTG outputs, " << h << "x" << w << ")\n";
  return 0;
}

// A dataset, image file, pack or sampler problem: the data is at fault, not
// the run (exit 4).
bool is_dataset_failure(const std::exception& e) {
  return dynamic_cast<const rfm::data::DatasetError*>(&e) || dynamic_cast<const rfm::data::ImageFileError*>(&e) ||
         dynamic_cast<const rfm::sampler::SamplerError*>(&e);
}

int synthesize(const rfm::config::RunConfig& config) {
  const auto& y = config.synthetic();
  const std::string out = !y.output().empty() ? y.output() : config.data().root();
  if (out.empty()) throw UsageError("synthesize needs synthetic.output or data.root");
  const int threads = config.data().loader_threads() > 0 ? config.data().loader_threads() : 2;
  const auto s = rfm::data::synthetic::write_synthetic_dataset(y, out, threads);
  std::cout << (s.reused ? "found" : "wrote") << " synthetic "
            << rfm::config::SyntheticConfig::Layout_Name(y.layout()) << " dataset in " << s.output << ": "
            << s.identities << " identities (" << y.train_identities() << " train, " << y.test_identities()
            << " test), " << s.visible_images << " visible + " << s.infrared_images << " infrared images";
  if (!s.reused) std::cout << " in " << s.seconds << " s";
  std::cout << "\n";
  return 0;
}

int validate_dataset(const rfm::config::RunConfig& config) {
  rfm::data::DatasetCheck check;
  check.decode_images = true;
  check.threads = config.data().loader_threads() > 0 ? config.data().loader_threads() : 2;
  rfm::data::ValidationReport report;
  const auto listing = rfm::data::list_and_check(config.data(), check, report);
  report.print(std::cout);
  if (!report.ok()) {
    std::cerr << "rfm: " << report.first_error_line(listing.name.empty() ? config.data().root() : listing.name) << "\n";
    return kBadDataset;
  }
  std::cout << listing.name << " is valid\n";
  return 0;
}

rfm::eval::ModalityChoice modality_choice(const Arguments& a) {
  try {
    return rfm::eval::parse_modality_choice(a.modality);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

// evaluate: the configuration is --config's, or else the first checkpoint's
// (with --set overrides either way).
rfm::config::RunConfig evaluation_config(const Arguments& a) {
  if (!a.config.empty() || a.checkpoints.empty()) return rfm::config::load_run_config(a.config, a.overrides);
  auto config = rfm::engine::read_checkpoint_info(a.checkpoints.front()).config;
  for (const auto& o : a.overrides) rfm::config::apply_override(config, o);
  rfm::config::materialize_defaults(config);
  rfm::config::validate(config);
  return config;
}

// What a checkpoint holds: its step, configuration hash and a digest of
// its weights (two checkpoints with one digest hold the same model bit for
// bit, whatever else differs, such as the run directory in their config).
int inspect(const Arguments& a) {
  if (a.checkpoints.size() != 1) throw UsageError("inspect needs one --checkpoint FILE");
  const std::string& path = a.checkpoints.front();
  const auto info = rfm::engine::read_checkpoint_info(path);
  rfm::model::RfmModel model(rfm::engine::model_options(info.config));
  rfm::engine::load_model_weights(path, model);
  int64_t values = 0;
  for (const auto& p : model->parameters()) values += p.numel();
  std::cout << "checkpoint: " << path << "\nstep: " << info.step << "\nepoch: " << info.epoch
            << "\nconfig_hash: " << info.config_hash << "\ntraining_state: " << (info.has_training_state ? "yes" : "no")
            << "\nparameters: " << values << "\nweights_digest: " << rfm::engine::weights_digest(*model) << "\n";
  return 0;
}

int embed(const Arguments& a) {
  rfm::eval::EmbedRequest request;
  if (a.checkpoints.size() != 1) throw UsageError("embed needs one --checkpoint FILE");
  if (a.images.empty()) throw UsageError("embed needs --images DIR|MANIFEST");
  if (a.out.empty()) throw UsageError("embed needs --out DIR");
  request.checkpoint = a.checkpoints.front();
  request.images = a.images;
  request.out_dir = a.out;
  request.modality = modality_choice(a);
  request.overrides = a.overrides;
  request.progress_bar = ::isatty(STDOUT_FILENO) != 0;
  rfm::eval::run_embed(request, std::cout);
  return 0;
}

int search(const Arguments& a) {
  rfm::eval::SearchRequest request;
  if (a.features.size() != 1) throw UsageError("search needs one --features DIR");
  if (a.queries.empty()) throw UsageError("search needs --query IMG (repeatable)");
  if (a.top_k < 1) throw UsageError("--top-k must be at least 1");
  if (a.checkpoints.size() > 1) throw UsageError("search takes at most one --checkpoint");
  request.features_dir = a.features.front();
  request.queries = a.queries;
  request.top_k = a.top_k;
  if (!a.checkpoints.empty()) request.checkpoint = a.checkpoints.front();
  request.modality = modality_choice(a);
  request.overrides = a.overrides;
  request.out_png = a.out;
  rfm::eval::run_search(request, std::cout);
  return 0;
}

int evaluate(const Arguments& a) {
  rfm::eval::EvaluationRequest request;
  request.config = evaluation_config(a);
  request.checkpoints = a.checkpoints;
  request.out_dir = a.out;
  request.export_dir = a.export_features;
  rfm::eval::run_evaluation(request, std::cout);
  return 0;
}

int evaluate_features(const Arguments& a) {
  if (a.features.empty()) throw UsageError("evaluate-features needs --features DIR");
  if (a.out.empty()) throw UsageError("evaluate-features needs --out DIR");
  const auto config = rfm::config::load_run_config(a.config, a.overrides);
  rfm::eval::FeatureEvaluationRequest request;
  request.feature_dirs = a.features;
  if (!a.dataset.empty()) {
    try {
      request.dataset = rfm::eval::canonical_dataset_name(a.dataset);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--dataset: ") + e.what());
    }
  }
  request.evaluation = config.evaluation();
  request.image_root = a.image_root;
  request.out_dir = a.out;
  rfm::eval::run_feature_evaluation(request, std::cout);
  return 0;
}

// The exit code of the exception being handled, its message on stderr
// behind `prefix` (which rank said it).
int report_failure(const std::string& prefix) {
  try {
    throw;
  } catch (const UsageError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n" << kUsage;
    return kUsageError;
  } catch (const rfm::config::ConfigError& e) {
    std::cerr << prefix << e.what() << "\n";
    return kUsageError;
  } catch (const rfm::engine::NonFiniteLossError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "; stopped (the last checkpoint is kept)\n";
    return kNonFinite;
  } catch (const rfm::engine::CheckpointError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return kBadInput;
  } catch (const rfm::eval::NpyError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return is_dataset_failure(e) ? kBadDataset : 1;
  }
}

rfm::comm::Backend backend_of(const rfm::config::RunConfig& config) {
  switch (config.distributed().backend()) {
    case rfm::config::DistributedConfig::MPI: return rfm::comm::Backend::kMpi;
    case rfm::config::DistributedConfig::NCCL: return rfm::comm::Backend::kNccl;
    default: return rfm::comm::Backend::kAuto;
  }
}

// A non-negative count the launcher or Slurm put in the environment; 0 when
// unset or not a number.
int count_from_environment(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end != v && *end == '\0' && n > 0 && n < (1L << 30) ? static_cast<int>(n) : 0;
}

// One worker of the job (started by mpirun or srun, or alone).  A failure
// on any rank ends every rank (MPI_Abort): the others would wait forever in
// the next collective.
int train(const rfm::config::RunConfig& config) {
  rfm::comm::MpiSession session;
  const auto& placement = session.placement();
  const std::string who = placement.world_size > 1 ? "rank " + std::to_string(placement.rank) + ": " : "";
  try {
    std::ofstream rank_log;
    std::ostream* log = &std::cout;
    if (placement.rank != 0) {
      const auto dir = std::filesystem::path(config.train().run_dir()) / "logs";
      std::filesystem::create_directories(dir);
      rank_log.open(dir / ("rank-" + std::to_string(placement.rank) + ".log"), std::ios::app);
      log = &rank_log;
    }
    // The device, threads and effective config, once, for everything below.
    const auto resources = rfm::engine::resolve_worker(config, placement);
    rfm::launch::WorkerSupervision supervision(config, session);
    std::unique_ptr<rfm::launch::WorkerMetrics> metrics;
    if (config.metrics().enabled()) {
      metrics = std::make_unique<rfm::launch::WorkerMetrics>(config, placement, resources.device, *log);
      std::cout << "rfm: " << (who.empty() ? "" : who) << "metrics at http://" << metrics->address() << "/metrics"
                << std::endl;
      supervision.set_metrics_address(metrics->address());
      if (!supervision.supervised()) {
        rfm::launch::prometheus_targets_writer(config)({{placement.rank, metrics->address()}});
      }
    }
    // Serve the final values a while longer (metrics.linger_s), on success
    // and on failure alike.
    struct Linger {
      const rfm::launch::WorkerMetrics* m;
      ~Linger() {
        if (m) m->linger();
      }
    } linger{metrics.get()};
    rfm::run::WorkerContext context;
    context.restarts = count_from_environment("RFM_RESTART_COUNT");
    context.requeues = count_from_environment("SLURM_RESTART_COUNT");
    if (metrics) metrics->metrics().set_restarts(context.restarts, context.requeues);
    context.metrics = metrics ? &metrics->metrics() : nullptr;
    // Under `rfm launch`, whether the launcher's output is a terminal
    // (mpirun hands the ranks a pseudo-terminal even when it writes to a file).
    const char* launched_to = std::getenv("RFM_LOG_TERMINAL");
    context.terminal = placement.rank == 0 && ::isatty(STDOUT_FILENO) != 0 &&
                       (launched_to == nullptr || std::string(launched_to) != "0");
    context.placement = placement;
    context.resources = resources;
    context.transport = rfm::comm::open_transport(backend_of(config), resources.device, session);
    context.on_phase = [&](rfm::engine::Phase p, int64_t step) { supervision.update(step, rfm::engine::phase_name(p)); };
    context.on_step = [&](const rfm::engine::StepStats& s) {
      supervision.set_images_per_second(static_cast<double>(s.images) / std::max(s.seconds + s.data_seconds, 1e-9));
    };
    const auto outcome = rfm::run::run_training(config, *log, context);
    supervision.finish();
    return outcome.stopped_by_signal ? rfm::run::kExitRequeue : 0;
  } catch (...) {
    const int code = report_failure(who);
    if (placement.world_size > 1) session.abort(code);
    return code;
  }
}

int launch(const Arguments& a) {
  if (a.processes < 1) throw UsageError("launch needs --np N (N >= 1)");
  rfm::launch::LaunchRequest request;
  request.config = rfm::config::load_run_config(a.config, a.overrides);
  request.processes = a.processes;
  if (a.max_restarts < 0) throw UsageError("--max-restarts must be at least 0");
  if (a.max_restarts > 0 && !request.config.checkpoint().resume()) {
    throw UsageError("--max-restarts needs checkpoint.resume: true (a restart resumes from the newest checkpoint)");
  }
  request.max_restarts = a.max_restarts;
  request.mpirun_args = a.mpirun_args;
  if (!a.config.empty()) request.worker_args = {"--config", a.config};
  for (const auto& o : a.overrides) {
    request.worker_args.push_back("--set");
    request.worker_args.push_back(o);
  }
  return rfm::launch::launch_job(request);
}

int status(const Arguments& a) {
  std::string address = a.address;
  if (address.empty()) {
    const std::string run_dir =
        !a.run_dir.empty() ? a.run_dir : rfm::config::load_run_config(a.config, a.overrides).train().run_dir();
    const auto file = std::filesystem::path(run_dir) / "supervisor.address";
    std::ifstream in(file);
    if (!(in >> address)) {
      throw std::runtime_error(file.string() + ": no supervisor address (is a job with more than one rank running?)");
    }
  }
  rfm::control::print_status(rfm::control::query_status(address), std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  try {
    args = parse(argc, argv);
    if (args.command == "-h" || args.command == "--help" || args.command == "help") {
      std::cout << kUsage;
      return 0;
    }
    const std::vector<std::string> commands = {"train", "launch", "status", "plot", "check-config", "ltg-preview", "synthesize", "validate", "pack",
                                               "evaluate", "evaluate-features", "grid", "inspect", "export", "embed",
                                               "search"};
    if (std::find(commands.begin(), commands.end(), args.command) == commands.end()) {
      throw UsageError("unknown command '" + args.command + "'");
    }
    // Before any thread exists (MPI, OpenMP, the loader, the control
    // plane), so that every thread inherits the blocked stop signals.
    if (args.command == "train") rfm::run::start_stop_signal_watcher();
    if (args.command == "evaluate") return evaluate(args);
    if (args.command == "inspect") return inspect(args);
    if (args.command == "embed") return embed(args);
    if (args.command == "search") return search(args);
    if (args.command == "export") {
      if (args.checkpoints.size() != 1) throw UsageError("export needs one --checkpoint FILE");
      try {
        return rfm::launch::run_export_command(args.checkpoints.front(), args.format, args.out, std::cout);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    }
    if (args.command == "launch") return launch(args);
    if (args.command == "status") return status(args);
    if (args.command == "grid") {
      if (args.inputs.size() != 1) throw UsageError("grid needs one action: expand, pending or collect");
      if (args.grid.empty()) throw UsageError("grid needs --grid FILE");
      try {
        return rfm::launch::run_grid_command(args.inputs.front(), args.grid, std::cout, std::cerr);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    }
    if (args.command == "plot") {
      const std::string run_dir = !args.run_dir.empty()
                                      ? args.run_dir
                                      : rfm::config::load_run_config(args.config, args.overrides).train().run_dir();
      for (const auto& png : rfm::run::write_training_plots(run_dir)) std::cout << png << "\n";
      return 0;
    }
    if (args.command == "evaluate-features") return evaluate_features(args);
    const auto config = rfm::config::load_run_config(args.config, args.overrides);
    if (args.command == "check-config") {
      std::cout << rfm::config::to_text(config);
      return 0;
    }
    if (args.command == "ltg-preview") return ltg_preview(args, config);
    if (args.command == "synthesize") return synthesize(config);
    if (args.command == "validate") return validate_dataset(config);
    if (args.command == "pack") {
      rfm::loader::build_pack(config, std::cout).print(std::cout);
      return 0;
    }
    return train(config);
  } catch (...) {
    return report_failure("");
  }
}
