#pragma once
// A worker's link to the control plane.  Under `rfm launch` the supervisor
// runs in the launcher and RFM_SUPERVISOR names it; under plain mpirun or
// srun rank 0 hosts it on a thread and broadcasts its address over MPI.
// Every rank then sends heartbeats.  A verdict from the supervisor (another
// rank died or hung) or the loss of the supervisor ends this worker with
// exit code kExitRankFailure, naming the reason: no rank waits forever.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "comm/mpi_session.h"
#include "control/heartbeat_client.h"
#include "control/job_supervisor.h"
#include "control/listen_address.h"
#include "rfm_config.pb.h"

namespace rfm::launcher {

constexpr int kExitRankFailure = 6;

// Writes <run_dir>/prometheus-targets.json from the supervisor's list of
// ranks' metrics addresses (a failure to write is a warning); a lone
// process calls it for itself.
std::function<void(const std::map<int, std::string>&)> prometheus_targets_writer(const config::RunConfig& config);

// A job's supervisor, started as `config` asks, with the address the ranks
// are told and the secret they prove.
struct StartedSupervisor {
  std::unique_ptr<control::JobSupervisor> supervisor;
  std::string address;  // host:port for RFM_SUPERVISOR
  std::string secret;
  control::ListenAddress listen;
};

// Makes a secret for this start of the job, listens where
// choose_listen_address says (`all_local`: every rank on this node), keeps
// <run_dir>/prometheus-targets.json (and metrics.targets_dir's file) up to
// date, and writes <run_dir>/supervisor.secret and supervisor.address for
// `rfm status`.  Used by `rfm launch` and by rank 0 under srun or mpirun.
StartedSupervisor start_job_supervisor(const config::RunConfig& config, int world_size, bool all_local,
                                       std::function<void(const std::string&)> on_failure);

class WorkerSupervision {
 public:
  // Nothing for a world of one without RFM_SUPERVISOR.
  WorkerSupervision(const config::RunConfig& config, const comm::MpiSession& session);
  ~WorkerSupervision();

  void update(int64_t step, const std::string& phase);
  void set_images_per_second(double value);
  // Sent with the heartbeats; the supervisor lists it in the run's
  // Prometheus targets file.
  void set_metrics_address(const std::string& address);
  // Whether a supervisor watches this worker (false: a lone process).
  bool supervised() const { return client_ != nullptr; }
  // Reports "done"; rank 0 (when it hosts the supervisor) waits briefly for
  // the other ranks' "done" so that their disconnects are not failures.
  void finish();
  // Tells the supervisor this worker fails with `exit_code` and why, before
  // it exits: the launcher then reports this error and exit code, not a
  // rank that disconnected.
  void fail(int exit_code, const std::string& error);

 private:
  std::unique_ptr<control::JobSupervisor> supervisor_;
  std::unique_ptr<control::HeartbeatClient> client_;
  int rank_ = 0;
};

}  // namespace rfm::launcher
