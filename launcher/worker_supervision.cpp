#include "launcher/worker_supervision.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "comm/mpi_transport.h"

namespace rfm::launch {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::cerr << message << std::endl;
  std::_Exit(kExitRankFailure);
}

}  // namespace

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

void WorkerSupervision::finish() {
  if (client_) client_->finish();
  if (supervisor_) {
    for (int i = 0; i < 100 && !supervisor_->finished(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace rfm::launch
