#pragma once
// The HTTP endpoint Prometheus scrapes: prometheus-cpp's exposer (civetweb)
// serving one worker's TrainingMetrics at /metrics on its own threads, so a
// slow or malformed request never stalls the training loop.

#include <memory>
#include <stdexcept>
#include <string>

#include "metrics/training_metrics.h"

namespace prometheus {
class Exposer;
}

namespace rfm::metrics {

struct EndpointOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: any free port
  // A request that has not arrived whole within this time is dropped
  // (a client that trickles bytes holds a server thread until then).
  int request_timeout_ms = 5000;
  // Idle threads cost little: enough that a few stalled clients never
  // leave a scrape waiting for the request timeout.
  int threads = 8;
};

class MetricsEndpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MetricsEndpoint {
 public:
  MetricsEndpoint(const EndpointOptions& options, const TrainingMetrics& metrics);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace rfm::metrics
