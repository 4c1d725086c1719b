#include "trainer/process/worker_resources.h"

#include <algorithm>
#include <string>

#include <torch/cuda.h>

#include "proto/config_loader.h"

namespace rfm::process {
namespace {

int machine_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

int intra_op_threads(int requested, int cores, int local_workers) {
  return requested > 0 ? requested : std::max(1, cores / std::max(1, local_workers));
}

int configure_threads(int threads, int local_workers) {
  const int n = intra_op_threads(threads, machine_cores(), local_workers);
  torch::set_num_threads(n);
  return n;
}

WorkerResources resolve_worker(const config::RunConfig& config, const comm::ProcessPlacement& placement,
                               int visible_cuda_devices, int cores) {
  const std::string& name = config.train().device();
  const std::string rank = "rank " + std::to_string(placement.rank) + " (local rank " +
                           std::to_string(placement.local_rank) + ")";
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw config::ConfigError("train.device = \"" + name + "\": not a device (cpu, cuda or cuda:N)");
  }
  if (device.is_cuda()) {
    if (visible_cuda_devices < 1) {
      throw config::ConfigError("train.device = \"" + name + "\": " + rank + " sees no CUDA device");
    }
    if (device.has_index()) {
      if (device.index() >= visible_cuda_devices) {
        throw config::ConfigError("train.device = \"" + name + "\": " + rank + " sees only " +
                                  std::to_string(visible_cuda_devices) + " CUDA device(s)");
      }
    } else {
      // One device per local worker.  A process that sees one device (srun
      // --gpus-per-task=1, CUDA_VISIBLE_DEVICES per rank) has its own as 0.
      if (visible_cuda_devices > 1 && placement.local_world_size > visible_cuda_devices) {
        throw config::ConfigError("train.device = \"cuda\": " + std::to_string(placement.local_world_size) +
                                  " workers on this node but " + std::to_string(visible_cuda_devices) +
                                  " CUDA devices (start at most one worker per GPU)");
      }
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(placement.local_rank % visible_cuda_devices));
    }
  } else if (!device.is_cpu()) {
    throw config::ConfigError("train.device = \"" + name + "\": only cpu and cuda are supported");
  }
  WorkerResources r;
  r.device = device;
  r.threads = intra_op_threads(config.train().threads(), cores, placement.local_world_size);
  r.config = config;
  r.config.mutable_train()->set_device(device.str());
  return r;
}

WorkerResources resolve_worker(const config::RunConfig& config, const comm::ProcessPlacement& placement) {
  const bool cuda = config.train().device().rfind("cuda", 0) == 0;
  const int visible = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  return resolve_worker(config, placement, visible, machine_cores());
}

}  // namespace rfm::process
