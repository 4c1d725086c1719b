#pragma once
// The job's supervisor: a TCP server (Boost.Asio, one thread) that every
// worker sends heartbeats to.  It declares the job failed, naming the rank
// and its last phase, when a rank
//   - disconnects before saying it is done (the process died),
//   - sends no heartbeat for rank_timeout_s (stopped, e.g. SIGSTOP, or its
//     node is gone),
//   - never connects within rank_timeout_s of the start, or
//   - stays in one compute phase for rank_timeout_s while heartbeating (hung;
//     when every rank is stuck, the one furthest behind is named).
// Evaluation is exempt from the last rule (it may take long on rank 0 while
// the others wait).  A rank that reports phase "failed" (its own error, with
// the exit code it ends with) fails the job at once, naming that error.  It
// answers status requests with every rank's step, phase and throughput.
//
// It opens only messages sealed under the job's secret (message_auth.h):
// anything else (no proof, another job's secret, a replay) is dropped and
// counted, its connection closed, and its peer's address logged once; it
// never touches a rank's record or the metrics targets.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "control.pb.h"

namespace rfm::control {

struct SupervisorOptions {
  int world_size = 1;
  double rank_timeout_s = 60.0;
  std::string secret;  // the job's (make_job_secret())
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: any free port
  // A line for the job's log (default: standard error), such as the first
  // refused message from each peer address.
  std::function<void(const std::string&)> log;
  // Called on the supervisor's thread (holding its lock: do not call back
  // into the supervisor) with every rank's metrics address
  // (rank -> "host:port") each time one appears or changes.
  std::function<void(const std::map<int, std::string>&)> on_metrics_targets;
};

class JobSupervisor {
 public:
  // `on_failure` runs once, on the supervisor's thread, with a one-line
  // reason such as "rank 1 (node7 pid 4242) sent no heartbeat for 12.0 s;
  // last phase forward at step 17".
  JobSupervisor(SupervisorOptions options, std::function<void(const std::string&)> on_failure);
  ~JobSupervisor();
  JobSupervisor(const JobSupervisor&) = delete;
  JobSupervisor& operator=(const JobSupervisor&) = delete;

  int port() const;
  StatusReply status() const;
  // True once every rank reported phase "done".
  bool finished() const;
  // The exit code a rank reported with phase "failed" when that was the
  // job's failure; 0 when the failure was another (a disconnect, a timeout)
  // or there is none.
  int failure_exit_code() const;
  // Connections open now (ranks and status clients not yet gone).
  size_t open_connections() const;
  // Messages dropped: no proof of the job's secret, or a replay.
  int64_t refused_messages() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rfm::control
