#include "launcher/worker_metrics.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include "control/heartbeat_client.h"
#include "metrics/prometheus_targets.h"

#if defined(RFM_TORCH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace rfm::launcher {
namespace {

// The worker's GPU: its index, UUID and name from CUDA's device properties,
// and its memory from LibTorch's caching allocator.  None on the CPU.
metrics::GpuDevice gpu_device(const torch::Device& device) {
  metrics::GpuDevice gpu;
#if defined(RFM_TORCH_CUDA)
  if (!device.is_cuda()) return gpu;
  const int index = device.index();  // resolved: always has one
  gpu.index = index;
  const cudaDeviceProp* properties = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(index));
  unsigned char uuid[16];
  std::memcpy(uuid, properties->uuid.bytes, sizeof(uuid));
  gpu.uuid = metrics::format_gpu_uuid(uuid);
  gpu.name = properties->name;
  gpu.memory = [index]() -> std::optional<std::pair<double, double>> {
    // Index 0 of each stat array is the aggregate over pool kinds.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    return std::make_pair(static_cast<double>(stats.allocated_bytes[0].current),
                          static_cast<double>(stats.reserved_bytes[0].current));
  };
#else
  (void)device;
#endif
  return gpu;
}

}  // namespace

std::string metrics_run_id(const config::RunConfig& config) {
  if (!config.metrics().run_id().empty()) return config.metrics().run_id();
  auto dir = std::filesystem::path(config.train().run_dir()).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" -> "runs/x"
  return dir.filename().string();
}

WorkerMetrics::WorkerMetrics(const config::RunConfig& config, const comm::ProcessPlacement& placement,
                             const torch::Device& device, std::ostream& log)
    : config_(config) {
  const auto& m = config.metrics();
  metrics::WorkerLabels labels;
  labels.run_id = metrics_run_id(config);
  labels.rank = placement.rank;
  labels.host = control::local_host_name();
  labels.device = device.str();
  labels.precision = config::TrainConfig::Precision_Name(config.train().precision());
  labels.world_size = placement.world_size;
  metrics_ = std::make_unique<metrics::TrainingMetrics>(labels, gpu_device(device));
  metrics::EndpointOptions options;
  options.bind_address = m.bind_address();
  options.port = m.base_port() == 0 ? 0 : m.base_port() + placement.local_rank;
  try {
    endpoint_ = std::make_unique<metrics::MetricsEndpoint>(options, *metrics_);
  } catch (const metrics::MetricsEndpointError& e) {
    if (options.port == 0) throw;
    log << "warning: rank " << placement.rank << ": " << e.what() << "; serving /metrics on a free port instead"
        << std::endl;
    options.port = 0;
    endpoint_ = std::make_unique<metrics::MetricsEndpoint>(options, *metrics_);
  }
  address_ = metrics::scrape_address(m.bind_address(), endpoint_->port());
}

WorkerMetrics::~WorkerMetrics() = default;

void WorkerMetrics::linger() const {
  const double seconds = config_.metrics().linger_s();
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace rfm::launcher
