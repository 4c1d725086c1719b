#pragma once
// Where this worker stands in the job, as the launcher tells it.  mpirun
// (OMPI_COMM_WORLD_*), Slurm's srun (SLURM_PROCID, SLURM_LOCALID, PMIx) and a
// plain single process all map to the same four numbers.

#include <string>

namespace rfm::comm {

struct ProcessPlacement {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // rank among the workers on this node: picks the GPU
  int local_world_size = 1;
  std::string launcher = "single";  // "mpirun", "srun" or "single"
};

// True when an MPI launcher started this process (MPI_Init is then needed
// even for a world of one).
bool started_by_mpi_launcher();

// The placement read from the launcher's environment alone (no MPI calls):
// what a worker knows before MPI_Init, and all it knows without MPI.
ProcessPlacement placement_from_environment();

}  // namespace rfm::comm
