// rfm launch: N workers through mpirun, supervised.

#include "launcher/commands.h"
#include "launcher/job_launcher.h"

namespace rfm::launcher {

Command launch_command() {
  Command c;
  c.name = "launch";
  c.summary = "start --np workers through mpirun with a supervisor (dead or hung ranks end the job)";
  c.options = {{"--np", "N", "number of workers (MPI ranks)", false},
               {"--max-restarts", "R",
                "start a failed job again up to R times (a rank died or hung, a runtime failure); it resumes from "
                "its newest checkpoint (default 0)",
                false},
               {"--mpirun-arg", "A", "pass A to mpirun, e.g. --mpirun-arg --hostfile --mpirun-arg hosts", true}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    const int64_t processes = args.integer("--np", 0);
    if (processes < 1) throw UsageError("launch needs --np N (N >= 1)");
    LaunchRequest request;
    request.config = load_config(args);
    request.processes = static_cast<int>(processes);
    const int64_t max_restarts = args.integer("--max-restarts", 0);
    if (max_restarts < 0) throw UsageError("--max-restarts must be at least 0");
    if (max_restarts > 0 && !request.config.checkpoint().resume()) {
      throw UsageError("--max-restarts needs checkpoint.resume: true (a restart resumes from the newest checkpoint)");
    }
    request.max_restarts = static_cast<int>(max_restarts);
    request.mpirun_args = args.values("--mpirun-arg");
    if (args.has("--config")) request.worker_args = {"--config", args.value("--config")};
    for (const auto& o : args.values("--set")) {
      request.worker_args.push_back("--set");
      request.worker_args.push_back(o);
    }
    return launch_job(request);
  };
  return c;
}

}  // namespace rfm::launcher
