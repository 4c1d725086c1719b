#pragma once
// A worker's side of the control plane: a thread that connects to the
// supervisor, sends a heartbeat every interval with the worker's current
// step and phase (which the training thread updates), and reads the
// supervisor's answers.  It calls `on_lost` (once) when the supervisor
// orders an abort, disconnects, or stops answering for `timeout_s`: a
// worker must not wait forever for a job that has already failed.  An
// answer without proof of the job's secret counts as losing the supervisor.

#include <functional>
#include <memory>
#include <string>

namespace rfm::control {

struct HeartbeatOptions {
  std::string address;  // host:port
  std::string secret;   // the job's (message_auth.h): every message carries proof of it
  int rank = 0;
  int world_size = 1;
  double interval_s = 2.0;
  double timeout_s = 60.0;
};

class HeartbeatClient {
 public:
  HeartbeatClient(HeartbeatOptions options, std::function<void(const std::string&)> on_lost);
  ~HeartbeatClient();
  HeartbeatClient(const HeartbeatClient&) = delete;
  HeartbeatClient& operator=(const HeartbeatClient&) = delete;

  // Thread-safe; cheap (no I/O).
  void update(int64_t step, const std::string& phase);
  void set_images_per_second(double value);
  // Where Prometheus can scrape this rank ("host:port"), sent with every
  // heartbeat so that the supervisor can list the job's targets.
  void set_metrics_address(const std::string& address);
  // Sends phase "done" at once and closes: the supervisor expects the
  // disconnect that follows.
  void finish();
  // Sends phase "failed" with the exit code this worker ends with and its
  // one-line error, at once, and closes.
  void fail(int exit_code, const std::string& error);

 private:
  // Sends `phase` (at the last step) at once, waits (bounded) until it is
  // out, and stops.
  void say_last(const std::string& phase);

  struct State;
  std::shared_ptr<State> state_;
};

// This machine's name, as the other ranks and `rfm status` reach it.
std::string local_host_name();

// host:port -> (host, port); throws std::invalid_argument naming the text.
std::pair<std::string, int> split_address(const std::string& address);

}  // namespace rfm::control
