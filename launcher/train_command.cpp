// rfm train: one worker of a training job, alone or as a rank under mpirun
// or srun --mpi=pmix.  A failure on any rank ends every rank (MPI_Abort):
// the others would wait forever in the next collective.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "comm/mpi_session.h"
#include "comm/transport_factory.h"
#include "launcher/commands.h"
#include "launcher/exit_codes.h"
#include "launcher/worker_metrics.h"
#include "launcher/worker_supervision.h"
#include "trainer/process/worker_resources.h"
#include "trainer/run/stop_signals.h"
#include "trainer/run/training_run.h"

namespace rfm::launcher {
namespace {

comm::Backend backend_of(const config::RunConfig& config) {
  switch (config.distributed().backend()) {
    case config::DistributedConfig::MPI: return comm::Backend::kMpi;
    case config::DistributedConfig::NCCL: return comm::Backend::kNccl;
    default: return comm::Backend::kAuto;
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

// The exception being handled, as one line (for the supervisor).
std::string current_error_line() {
  try {
    throw;
  } catch (const std::exception& e) {
    std::string line = e.what();
    line = line.substr(0, line.find('\n'));
    return line;
  } catch (...) {
    return "an unknown error";
  }
}

int train(const ParsedArguments& args) {
  const auto config = load_config(args);
  comm::MpiSession session;
  const auto& placement = session.placement();
  const std::string who = placement.world_size > 1 ? "rank " + std::to_string(placement.rank) + ": " : "";
  std::unique_ptr<WorkerSupervision> supervision;
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
    const auto resources = process::resolve_worker(config, placement);
    supervision = std::make_unique<WorkerSupervision>(config, session);
    std::unique_ptr<WorkerMetrics> metrics;
    if (config.metrics().enabled()) {
      metrics = std::make_unique<WorkerMetrics>(config, placement, resources.device, *log);
      std::cout << "rfm: " << who << "metrics at http://" << metrics->address() << "/metrics" << std::endl;
      supervision->set_metrics_address(metrics->address());
      if (!supervision->supervised()) prometheus_targets_writer(config)({{placement.rank, metrics->address()}});
    }
    // Serve the final values a while longer (metrics.linger_s), on success
    // and on failure alike.
    struct Linger {
      const WorkerMetrics* m;
      ~Linger() {
        if (m) m->linger();
      }
    } linger{metrics.get()};
    run::WorkerContext context;
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
    context.transport = comm::open_transport(backend_of(config), resources.device, session, [](const std::string& line) {
      std::cerr << line << std::endl;
      std::_Exit(kExitRankFailure);
    });
    context.on_phase = [&](engine::Phase p, int64_t step) { supervision->update(step, engine::phase_name(p)); };
    context.on_step = [&](const engine::StepStats& s) {
      supervision->set_images_per_second(static_cast<double>(s.images) / std::max(s.seconds + s.data_seconds, 1e-9));
    };
    const auto outcome = run::run_training(config, *log, context);
    supervision->finish();
    return outcome.stopped_by_signal ? run::kExitRequeue : 0;
  } catch (...) {
    const int code = report_failure(who, nullptr, command_table());
    if (supervision) supervision->fail(code, current_error_line());
    if (placement.world_size > 1) session.abort(code);
    return code;
  }
}

}  // namespace

Command train_command() {
  Command c;
  c.name = "train";
  c.summary = "train RFM on data.source (a dataset, or in-memory random identities); one worker, alone or as a "
              "rank under mpirun / srun --mpi=pmix";
  c.options = config_options();
  // Before any thread exists (MPI, OpenMP, the loader, the control plane),
  // so that every thread inherits the blocked stop signals.
  c.before_threads = [] { run::start_stop_signal_watcher(); };
  c.run = train;
  return c;
}

}  // namespace rfm::launcher
