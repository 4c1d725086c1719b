#include "comm/process_placement.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace rfm::comm {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// -1 when unset; a clear error (naming the variable) when malformed.
int env_int(const char* name) {
  const char* v = env(name);
  if (v == nullptr) return -1;
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  if (*end != '\0' || value < 0 || value > (1 << 24)) {
    throw std::runtime_error(std::string("environment variable ") + name + "=\"" + v + "\" is not a rank or size");
  }
  return static_cast<int>(value);
}

}  // namespace

bool started_by_mpi_launcher() {
  return env("OMPI_COMM_WORLD_SIZE") != nullptr || env("PMIX_RANK") != nullptr || env("PMI_SIZE") != nullptr;
}

ProcessPlacement placement_from_environment() {
  ProcessPlacement p;
  if (env_int("OMPI_COMM_WORLD_SIZE") > 0) {
    p.launcher = "mpirun";
    p.rank = env_int("OMPI_COMM_WORLD_RANK");
    p.world_size = env_int("OMPI_COMM_WORLD_SIZE");
    p.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK");
    p.local_world_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE");
  } else if (env_int("SLURM_PROCID") >= 0 && env_int("SLURM_NTASKS") > 0) {
    // srun --mpi=pmix: Slurm's variables name the task; MPI_Init agrees.
    p.launcher = "srun";
    p.rank = env_int("SLURM_PROCID");
    p.world_size = env_int("SLURM_NTASKS");
    p.local_rank = env_int("SLURM_LOCALID");
    const char* per_node = env("SLURM_TASKS_PER_NODE");  // e.g. "4(x2)" or "2,1"
    p.local_world_size = per_node != nullptr ? std::max(1, std::atoi(per_node)) : 1;
  }
  if (p.rank < 0) p.rank = 0;
  if (p.local_rank < 0) p.local_rank = 0;
  if (p.local_world_size < 1) p.local_world_size = 1;
  if (p.rank >= p.world_size) {
    throw std::runtime_error("launcher environment: rank " + std::to_string(p.rank) + " is not below world size " +
                             std::to_string(p.world_size));
  }
  return p;
}

}  // namespace rfm::comm
