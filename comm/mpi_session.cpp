#include "comm/mpi_session.h"

#include <mpi.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace rfm::comm {

MpiSession::MpiSession() : placement_(placement_from_environment()) {
  if (!started_by_mpi_launcher()) return;
  // Open MPI's non-blocking all-reduce (libnbc, which carries the gradient
  // buckets during backward) picks recursive doubling by default; its ring
  // moved the model's gradients faster (bench/results/JOURNAL.md).  A value
  // the user set is kept.
  ::setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
  int provided = 0;
  // The training thread makes every MPI call; loader, heartbeat and metrics
  // threads never do.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw std::runtime_error("MPI_Init_thread failed");
  }
  active_ = true;
  const auto launcher = placement_.launcher;
  MPI_Comm_rank(MPI_COMM_WORLD, &placement_.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &placement_.world_size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, placement_.rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &placement_.local_rank);
  MPI_Comm_size(node, &placement_.local_world_size);
  MPI_Comm_free(&node);
  placement_.launcher = launcher == "single" ? "mpi" : launcher;
}

MpiSession::~MpiSession() {
  if (!active_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiSession::abort(int exit_code) const {
  if (active_) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace rfm::comm
