#include "metrics/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CivetServer.h>
#include <prometheus/exposer.h>

#include <mutex>

namespace rfm::metrics {

extern int thread_stack_floor_anchor;

namespace {

// civetweb does not take port 0: ask the kernel for a free port and hand
// that over (another process may take it in between; the caller retries).
int free_port(const std::string& bind_address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (bind_address.empty() || ::inet_pton(AF_INET, bind_address.c_str(), &address.sin_addr) != 1) {
    address.sin_addr.s_addr = htonl(INADDR_ANY);
  }
  socklen_t length = sizeof(address);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// civetweb says why it could not start only through its log callback.
std::mutex log_mutex;
std::string last_log;

int remember_log(const mg_connection*, const char* message) {
  std::lock_guard<std::mutex> lock(log_mutex);
  last_log = message != nullptr ? message : "";
  return 1;  // handled: civetweb prints nothing itself
}

std::unique_ptr<prometheus::Exposer> listen(const EndpointOptions& options, int port) {
  static const CivetCallbacks callbacks = [] {
    CivetCallbacks c;
    c.log_message = remember_log;
    return c;
  }();
  {
    std::lock_guard<std::mutex> lock(log_mutex);
    last_log.clear();
  }
  try {
    return std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", options.bind_address + ":" + std::to_string(port),
                                 "num_threads", std::to_string(options.threads),
                                 "request_timeout_ms", std::to_string(options.request_timeout_ms),
                                 "enable_keep_alive", "no"},
        &callbacks);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(log_mutex);
    throw std::runtime_error(last_log.empty() ? std::string(e.what()) : last_log);
  }
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(const EndpointOptions& options, const TrainingMetrics& metrics) {
  ++thread_stack_floor_anchor;
  const std::string where = options.bind_address + ":" + std::to_string(options.port);
  if (options.port < 0 || options.port > 65535) throw MetricsEndpointError("metrics: port out of range in " + where);
  std::string last_error;
  for (int attempt = 0; attempt < (options.port == 0 ? 10 : 1) && !exposer_; ++attempt) {
    const int port = options.port != 0 ? options.port : free_port(options.bind_address);
    if (port <= 0) {
      last_error = "no free port";
      continue;
    }
    try {
      exposer_ = listen(options, port);
      port_ = port;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
  }
  if (!exposer_) throw MetricsEndpointError("metrics: cannot listen on " + where + ": " + last_error);
  exposer_->RegisterCollectable(metrics.registry());
  exposer_->RegisterCollectable(metrics.scrape_time_values());
}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace rfm::metrics
