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
#include "rfm_config.pb.h"

namespace rfm::launcher {

constexpr int kExitRankFailure = 6;

// Writes <run_dir>/prometheus-targets.json from the supervisor's list of
// ranks' metrics addresses (a failure to write is a warning).
std::function<void(const std::map<int, std::string>&)> prometheus_targets_writer(const config::RunConfig& config);

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
