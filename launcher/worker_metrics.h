#pragma once
// A worker's metrics: its TrainingMetrics, the /metrics endpoint on
// base_port + local rank (or a free port), and where Prometheus finds it.

#include <memory>
#include <ostream>
#include <string>

#include "comm/process_placement.h"
#include "metrics/metrics_endpoint.h"
#include "metrics/training_metrics.h"
#include "rfm_config.pb.h"

namespace rfm::launcher {

// metrics.run_id, or the run directory's name.
std::string metrics_run_id(const config::RunConfig& config);

class WorkerMetrics {
 public:
  // Starts the endpoint; a taken port falls back to a free one (with a
  // warning on `log`): the targets file lists whichever port is served.
  // `device`: the worker's resolved device (process::resolve_worker).
  WorkerMetrics(const config::RunConfig& config, const comm::ProcessPlacement& placement, const torch::Device& device,
                std::ostream& log);
  ~WorkerMetrics();

  metrics::TrainingMetrics& metrics() { return *metrics_; }
  // "host:port" for Prometheus.
  const std::string& address() const { return address_; }
  // Keeps serving for metrics.linger_s (a last scrape of the final values).
  void linger() const;

 private:
  config::RunConfig config_;
  std::unique_ptr<metrics::TrainingMetrics> metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> endpoint_;
  std::string address_;
};

}  // namespace rfm::launcher
