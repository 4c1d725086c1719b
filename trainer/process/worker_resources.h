#pragma once
// What one worker runs on, decided once from the configuration and where
// the launcher placed it, before the transport, the metrics, the trainer or
// the loader is built: each of those takes the resolved device.

#include <thread>

#include <torch/torch.h>

#include "comm/process_placement.h"
#include "rfm_config.pb.h"

namespace rfm::process {

struct WorkerResources {
  // "cpu"; "cuda" becomes cuda:<local rank> (among the devices this process
  // sees: one under srun --gpus-per-task=1, all of the node's under
  // mpirun); "cuda:N" is kept as pinned.
  torch::Device device{torch::kCPU};
  // Intra-op threads: train.threads, or when 0 the node's cores shared
  // among its local workers.
  int threads = 1;
  // The configuration with train.device set to `device`: what the run
  // directory records and the in-run evaluation reads.
  config::RunConfig config;
};

// `visible_cuda_devices` and `cores` are this process's (the overload
// below asks CUDA and the OS); they are parameters so that a machine
// without a GPU can test every placement.  Throws config::ConfigError
// naming train.device and the rank when the device cannot be had: CUDA
// asked for where none is visible, a pinned index beyond the visible ones,
// or more local workers than visible devices (two ranks of one NCCL
// communicator may not share a GPU).
WorkerResources resolve_worker(const config::RunConfig& config, const comm::ProcessPlacement& placement,
                               int visible_cuda_devices, int cores);
WorkerResources resolve_worker(const config::RunConfig& config, const comm::ProcessPlacement& placement);

// train.threads, or when 0 `cores` shared among `local_workers` (at least 1).
int intra_op_threads(int requested, int cores, int local_workers);

// Sets LibTorch's intra-op threads: `threads`, or when 0 this node's cores
// shared among its `local_workers` workers.  Returns the count set.
int configure_threads(int threads, int local_workers = 1);

}  // namespace rfm::process
