// The worker's device, threads and effective configuration, resolved once
// from the configuration and the launcher's placement: every placement a
// 4-GPU node can give, on a machine without a GPU (the visible device count
// is a parameter), and the placements mpirun's and srun's environments give.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "comm/process_placement.h"
#include "proto/config_loader.h"
#include "trainer/process/worker_resources.h"

using namespace rfm;

namespace {

config::RunConfig with_device(const std::string& device, int threads = 0) {
  return config::load_run_config("", {"train.device=" + device, "train.threads=" + std::to_string(threads)});
}

comm::ProcessPlacement local(int local_rank, int local_world, int nodes = 1) {
  comm::ProcessPlacement p;
  p.local_rank = local_rank;
  p.local_world_size = local_world;
  p.world_size = local_world * nodes;
  p.rank = local_rank;
  p.launcher = "mpirun";
  return p;
}

// Sets launcher variables for one scope and removes them afterwards.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(std::map<std::string, std::string> values) : values_(std::move(values)) {
    for (const auto& [k, v] : values_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const auto& [k, v] : values_) ::unsetenv(k.c_str());
  }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace

TEST(WorkerResources, CpuStaysCpuAndSharesTheCoresAmongLocalWorkers) {
  const auto r = process::resolve_worker(with_device("cpu"), local(1, 2), /*visible_cuda_devices=*/0, /*cores=*/16);
  EXPECT_EQ(r.device, torch::Device(torch::kCPU));
  EXPECT_EQ(r.threads, 8);
  EXPECT_EQ(r.config.train().device(), "cpu");
  EXPECT_EQ(process::resolve_worker(with_device("cpu", 3), local(1, 2), 0, 16).threads, 3);
  EXPECT_EQ(process::resolve_worker(with_device("cpu"), local(0, 4), 0, 2).threads, 1);
}

TEST(WorkerResources, CudaIsTheGpuOfTheLocalRank) {
  for (int local_rank = 0; local_rank < 4; ++local_rank) {
    const auto r = process::resolve_worker(with_device("cuda"), local(local_rank, 4, 2), 4, 64);
    EXPECT_EQ(r.device, torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank)));
    EXPECT_EQ(r.config.train().device(), "cuda:" + std::to_string(local_rank));
    EXPECT_EQ(r.threads, 16);
  }
  // srun --gpus-per-task=1: each task sees only its own GPU, as device 0.
  for (int local_rank = 0; local_rank < 4; ++local_rank) {
    EXPECT_EQ(process::resolve_worker(with_device("cuda"), local(local_rank, 4), 1, 64).device,
              torch::Device(torch::kCUDA, 0));
  }
}

TEST(WorkerResources, APinnedDeviceIsKeptOnEveryRank) {
  for (int local_rank = 0; local_rank < 4; ++local_rank) {
    const auto r = process::resolve_worker(with_device("cuda:1"), local(local_rank, 4), 4, 64);
    EXPECT_EQ(r.device, torch::Device(torch::kCUDA, 1));
    EXPECT_EQ(r.config.train().device(), "cuda:1");
  }
}

TEST(WorkerResources, DevicesThatCannotBeHadNameTheFieldAndTheRank) {
  auto message = [](const std::string& device, const comm::ProcessPlacement& p, int visible) {
    try {
      process::resolve_worker(with_device(device), p, visible, 8);
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("cuda", local(2, 4), 0), "train.device = \"cuda\": rank 2 (local rank 2) sees no CUDA device");
  EXPECT_EQ(message("cuda:1", local(0, 1), 1),
            "train.device = \"cuda:1\": rank 0 (local rank 0) sees only 1 CUDA device(s)");
  EXPECT_EQ(message("cuda", local(3, 4), 2),
            "train.device = \"cuda\": 4 workers on this node but 2 CUDA devices (start at most one worker per GPU)");
}

// The placements mpirun and srun give each of four local workers, read from
// their environments as `rfm train` reads them.
TEST(WorkerResources, PlacementsFromMpirunAndSrun) {
  for (int local_rank = 0; local_rank < 4; ++local_rank) {
    {
      ScopedEnvironment env({{"OMPI_COMM_WORLD_SIZE", "8"},
                             {"OMPI_COMM_WORLD_RANK", std::to_string(4 + local_rank)},
                             {"OMPI_COMM_WORLD_LOCAL_RANK", std::to_string(local_rank)},
                             {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}});
      const auto placement = comm::placement_from_environment();
      EXPECT_EQ(placement.launcher, "mpirun");
      const auto r = process::resolve_worker(with_device("cuda"), placement, 4, 32);
      EXPECT_EQ(r.device, torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank))) << "mpirun";
      EXPECT_EQ(r.threads, 8);
    }
    {
      ScopedEnvironment env({{"SLURM_PROCID", std::to_string(local_rank)},
                             {"SLURM_NTASKS", "4"},
                             {"SLURM_LOCALID", std::to_string(local_rank)},
                             {"SLURM_TASKS_PER_NODE", "4"}});
      const auto placement = comm::placement_from_environment();
      EXPECT_EQ(placement.launcher, "srun");
      EXPECT_EQ(process::resolve_worker(with_device("cuda"), placement, 4, 32).device,
                torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank)))
          << "srun, all four GPUs visible";
      EXPECT_EQ(process::resolve_worker(with_device("cuda"), placement, 1, 32).device, torch::Device(torch::kCUDA, 0))
          << "srun --gpus-per-task=1";
      EXPECT_EQ(process::resolve_worker(with_device("cpu"), placement, 0, 32).device, torch::Device(torch::kCPU));
    }
  }
}
