#pragma once
// `rfm launch`: starts the job's workers through OpenMPI's mpirun and
// supervises them.  The supervisor runs here (not in a worker, so a
// stopped rank 0 is caught too); its address reaches the workers as
// RFM_SUPERVISOR.  When the supervisor names a dead or hung rank, the whole
// mpirun process group is terminated and the launcher exits with
// kExitRankFailure.  SIGTERM and SIGUSR1 are passed on to the workers as
// SIGUSR1 (mpirun forwards it; SIGTERM would make mpirun kill them before
// their checkpoint), so they checkpoint and exit with kExitRequeue.

#include <string>
#include <vector>

#include "rfm_config.pb.h"

namespace rfm::launch {

struct LaunchRequest {
  config::RunConfig config;           // for the run directory and the supervisor's timeouts
  int processes = 2;
  std::vector<std::string> worker_args;  // after "rfm train": --config ..., --set ...
  std::vector<std::string> mpirun_args;  // extra, e.g. --hostfile hosts
  std::string mpirun = "mpirun";
};

// The exit code: the workers' (mpirun's), or kExitRankFailure.
int launch_job(const LaunchRequest& request);

}  // namespace rfm::launch
