#pragma once
// Picks the backend that moves this job's tensors: NCCL for CUDA tensors,
// MPI for CPU tensors, nothing for a world of one.

#include <memory>
#include <string>

#include <torch/torch.h>

#include "comm/mpi_session.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

enum class Backend { kAuto, kMpi, kNccl };

// Whether this build carries the NCCL backend.
bool nccl_available();

// nullptr for a world of one; otherwise the backend for tensors on `device`.
// kAuto takes NCCL for CUDA devices and MPI for the CPU.  Errors (NCCL asked
// for but not built, MPI for CUDA tensors) name the setting to change.
std::shared_ptr<TensorTransport> open_transport(Backend backend, const torch::Device& device, const MpiSession& session);

}  // namespace rfm::comm
