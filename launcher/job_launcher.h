#pragma once
// `rfm launch`: starts the job's workers through OpenMPI's mpirun and
// supervises them.  The supervisor runs here (not in a worker, so a
// stopped rank 0 is caught too); its address reaches the workers as
// RFM_SUPERVISOR.  When the supervisor names a dead or hung rank, the whole
// mpirun process group is terminated and the launcher exits with
// kExitRankFailure.  SIGTERM and SIGUSR1 are passed on to the workers as
// SIGUSR1 (mpirun forwards it; SIGTERM would make mpirun kill them before
// their checkpoint), so they checkpoint and exit with kExitRequeue.
//
// With max_restarts > 0 a job that failed in a way a restart can mend (a
// rank died or hung, a runtime failure, mpirun killed by a signal) is
// started again, up to that many times, under a fresh supervisor: the
// workers resume from the newest checkpoint that loads (as torchrun's
// --max-restarts).  A configuration, dataset or checkpoint error, a
// non-finite loss (it would recur from the same checkpoint) and a stop the
// launcher was asked for (a signal) are not restarted.  The workers see
// the attempt's number in RFM_RESTART_COUNT (logs and Prometheus).

#include <string>
#include <vector>

#include "rfm_config.pb.h"

namespace rfm::launcher {

struct LaunchRequest {
  config::RunConfig config;           // for the run directory and the supervisor's timeouts
  int processes = 2;
  std::vector<std::string> worker_args;  // after "rfm train": --config ..., --set ...
  std::vector<std::string> mpirun_args;  // extra, e.g. --hostfile hosts
  std::string mpirun = "mpirun";
  int max_restarts = 0;                   // --max-restarts
};

// The exit code of the last attempt: the workers' (mpirun's), or
// kExitRankFailure.
int launch_job(const LaunchRequest& request);

// Whether mpirun will start every rank on this node: no host list among
// its arguments, and no batch system's allocation (Slurm, PBS, LSF, SGE)
// for it to spread the ranks over.  The supervisor then listens on loopback.
bool ranks_stay_on_this_node(const std::vector<std::string>& mpirun_args);

// Whether a job that ended with `exit_code` (not asked to stop) may succeed
// when started again from its checkpoint.
bool restart_may_help(int exit_code);

}  // namespace rfm::launcher
