#include "launcher/worker_supervision.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "comm/mpi_transport.h"
#include "control/message_auth.h"
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

StartedSupervisor start_job_supervisor(const config::RunConfig& config, int world_size, bool all_local,
                                       std::function<void(const std::string&)> on_failure) {
  StartedSupervisor started;
  started.secret = control::make_job_secret();
  started.listen = control::choose_listen_address(config.distributed().control_address(), all_local);
  control::SupervisorOptions options;
  options.world_size = world_size;
  options.rank_timeout_s = config.distributed().rank_timeout_s();
  options.secret = started.secret;
  options.bind_address = started.listen.bind;
  options.on_metrics_targets = prometheus_targets_writer(config);
  started.supervisor = std::make_unique<control::JobSupervisor>(options, std::move(on_failure));
  started.address = started.listen.advertised + ":" + std::to_string(started.supervisor->port());
  const auto run_dir = std::filesystem::path(config.train().run_dir());
  std::filesystem::create_directories(run_dir);
  control::write_secret_file(run_dir / control::kSecretFileName, started.secret);
  std::ofstream(run_dir / "supervisor.address") << started.address << "\n";
  return started;
}

WorkerSupervision::WorkerSupervision(const config::RunConfig& config, const comm::MpiSession& session)
    : rank_(session.placement().rank) {
  const auto& d = config.distributed();
  const char* given = std::getenv("RFM_SUPERVISOR");
  std::string address = given != nullptr ? given : "";
  std::string secret;
  const int world = session.placement().world_size;
  if (address.empty() && world == 1) return;
  if (!address.empty()) {
    const char* given_secret = std::getenv(control::kJobSecretVariable);
    if (given_secret == nullptr) {
      throw control::SecretError(std::string("RFM_SUPERVISOR is set but ") + control::kJobSecretVariable +
                                  " is not (start the job with `rfm launch`, which sets both)");
    }
    secret = given_secret;
    control::check_job_secret(secret, control::kJobSecretVariable);
  } else {
    // Under srun or plain mpirun rank 0 hosts the supervisor, makes the
    // job's secret and hands it to the others over MPI: inside the job only.
    comm::MpiTransport bootstrap(session);
    if (rank_ == 0) {
      auto started = start_job_supervisor(config, world, session.placement().local_world_size == world,
                                          [](const std::string& reason) {
                                            die("rfm: supervisor: " + reason + "; aborting the job");
                                          });
      supervisor_ = std::move(started.supervisor);
      address = started.address;
      secret = started.secret;
    }
    address = bootstrap.broadcast_bytes(address, 0);
    secret = bootstrap.broadcast_bytes(secret, 0);
  }
  control::HeartbeatOptions options;
  options.address = address;
  options.secret = secret;
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
