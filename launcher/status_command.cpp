// rfm status: a running job's ranks, from its supervisor.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "control/message_auth.h"
#include "control/status_query.h"
#include "launcher/commands.h"

namespace rfm::launcher {

Command status_command() {
  Command c;
  c.name = "status";
  c.summary = "each rank's step, phase and throughput, from a running job's supervisor";
  c.options = {{"--address", "HOST:PORT", "the supervisor (default: <run dir>/supervisor.address)", false},
               {"--run-dir", "DIR", "the job's run directory (default train.run_dir of --config)", false},
               {"--secret-file", "FILE", "the job's secret (default: <run dir>/supervisor.secret)", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    std::string address = args.value("--address");
    const auto run_dir = [&] {
      return std::filesystem::path(args.has("--run-dir") ? args.value("--run-dir") : load_config(args).train().run_dir());
    };
    if (address.empty()) {
      const auto file = run_dir() / "supervisor.address";
      std::ifstream in(file);
      if (!(in >> address)) {
        throw std::runtime_error(file.string() + ": no supervisor address (is a job with more than one rank running?)");
      }
    }
    // The supervisor answers only a request that proves the job's secret.
    const std::string secret = control::read_secret_file(
        args.has("--secret-file") ? std::filesystem::path(args.value("--secret-file")) : run_dir() / control::kSecretFileName);
    control::print_status(control::query_status(address, secret), std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
