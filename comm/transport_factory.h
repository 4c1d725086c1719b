#pragma once
// Picks the backend that moves this job's tensors: NCCL for CUDA tensors,
// MPI for CPU tensors, nothing for a world of one.

#include <functional>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "comm/mpi_session.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

enum class Backend { kAuto, kMpi, kNccl };

// Whether this build carries the NCCL backend.
bool nccl_available();
// "2.28.9 (compiled against 2.28.9)": the NCCL loaded and the one compiled
// in, or why there is none.
std::string nccl_version();

// nullptr for a world of one; otherwise the backend for tensors on `device`.
// kAuto takes NCCL for CUDA devices and MPI for the CPU.  Errors (NCCL asked
// for but not built, MPI for CUDA tensors) name the setting to change.
// `on_failure` gets the one line that says why NCCL's communicators were
// aborted (NcclOptions::on_failure; empty: stderr and exit status 6).
std::shared_ptr<TensorTransport> open_transport(Backend backend, const torch::Device& device, const MpiSession& session,
                                                std::function<void(const std::string&)> on_failure = {});

}  // namespace rfm::comm
