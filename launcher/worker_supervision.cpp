#include "launcher/worker_supervision.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "comm/mpi_transport.h"
#include "launcher/worker_metrics.h"
#include "metrics/prometheus_targets.h"

namespace rfm::launcher {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::cerr << message << std::endl;
  std::_Exit(kExitRankFailure);
}

}  // namespace

std::function<void(const std::map<int, std::string>&)> prometheus_targets_writer(const config::RunConfig& config) {
  const std::string run_id = metrics_run_id(config);
  std::vector<std::string> paths = {metrics::targets_file(config.train().run_dir())};
  if (!config.metrics().targets_dir().empty()) {
    paths.push_back((std::filesystem::path(config.metrics().targets_dir()) / (run_id + ".json")).string());
  }
  return [paths, run_id](const std::map<int, std::string>& targets) {
    for (const auto& path : paths) {
      try {
        metrics::write_targets_file(path, run_id, targets);
      } catch (const std::exception& e) {
        std::cerr << "rfm: warning: " << e.what() << std::endl;  // monitoring must not end the job
      }
    }
  };
}

WorkerSupervision::WorkerSupervision(const config::RunConfig& config, const comm::MpiSession& session)
    : rank_(session.placement().rank) {
  const auto& d = config.distributed();
  const char* given = std::getenv("RFM_SUPERVISOR");
  std::string address = given != nullptr ? given : "";
  const int world = session.placement().world_size;
  if (address.empty() && world == 1) return;
  if (address.empty()) {
    comm::MpiTransport bootstrap(session);
    if (rank_ == 0) {
      control::SupervisorOptions options;
      options.world_size = world;
      options.rank_timeout_s = d.rank_timeout_s();
      options.on_metrics_targets = prometheus_targets_writer(config);
      supervisor_ = std::make_unique<control::JobSupervisor>(options, [](const std::string& reason) {
        die("rfm: supervisor: " + reason + "; aborting the job");
      });
      address = control::local_host_name() + ":" + std::to_string(supervisor_->port());
      const auto run_dir = std::filesystem::path(config.train().run_dir());
      std::filesystem::create_directories(run_dir);
      std::ofstream(run_dir / "supervisor.address") << address << "\n";
    }
    address = bootstrap.broadcast_bytes(address, 0);
  }
  control::HeartbeatOptions options;
  options.address = address;
  options.rank = rank_;
  options.world_size = world;
  options.interval_s = d.heartbeat_interval_s();
  options.timeout_s = d.rank_timeout_s();
  const int rank = rank_;
  client_ = std::make_unique<control::HeartbeatClient>(options, [rank](const std::string& reason) {
    die("rfm: rank " + std::to_string(rank) + ": " + reason + "; exiting");
  });
}

WorkerSupervision::~WorkerSupervision() = default;

void WorkerSupervision::update(int64_t step, const std::string& phase) {
  if (client_) client_->update(step, phase);
}

void WorkerSupervision::set_images_per_second(double value) {
  if (client_) client_->set_images_per_second(value);
}

void WorkerSupervision::set_metrics_address(const std::string& address) {
  if (client_) client_->set_metrics_address(address);
}

void WorkerSupervision::fail(int exit_code, const std::string& error) {
  if (client_) client_->fail(exit_code, error);
}

void WorkerSupervision::finish() {
  if (client_) client_->finish();
  if (supervisor_) {
    for (int i = 0; i < 100 && !supervisor_->finished(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace rfm::launcher
