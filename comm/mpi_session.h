#pragma once
// MPI's lifetime in a worker: MPI_Init_thread on construction (only when an
// MPI launcher started the process), MPI_Finalize on destruction.  One per
// process; the transports borrow it.

#include "comm/process_placement.h"

namespace rfm::comm {

class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  bool active() const { return active_; }
  // Rank and world from MPI itself, local rank from a shared-memory split
  // of the world (mpirun and srun alike); the environment's when inactive.
  const ProcessPlacement& placement() const { return placement_; }
  // Ends every rank of the job now (a fatal error on one rank): MPI_Abort
  // when active, otherwise std::_Exit.
  [[noreturn]] void abort(int exit_code) const;

 private:
  bool active_ = false;
  ProcessPlacement placement_;
};

}  // namespace rfm::comm
