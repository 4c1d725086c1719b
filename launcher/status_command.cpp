// rfm status: a running job's ranks, from its supervisor.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "control/status_query.h"
#include "launcher/commands.h"

namespace rfm::launcher {

Command status_command() {
  Command c;
  c.name = "status";
  c.summary = "each rank's step, phase and throughput, from a running job's supervisor";
  c.options = {{"--address", "HOST:PORT", "the supervisor (default: <run dir>/supervisor.address)", false},
               {"--run-dir", "DIR", "the job's run directory (default train.run_dir of --config)", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    std::string address = args.value("--address");
    if (address.empty()) {
      const std::string run_dir = args.has("--run-dir") ? args.value("--run-dir") : load_config(args).train().run_dir();
      const auto file = std::filesystem::path(run_dir) / "supervisor.address";
      std::ifstream in(file);
      if (!(in >> address)) {
        throw std::runtime_error(file.string() + ": no supervisor address (is a job with more than one rank running?)");
      }
    }
    control::print_status(control::query_status(address), std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
