// rfm plot: a run's PNG plots, also while it runs.

#include <iostream>

#include "launcher/commands.h"
#include "trainer/run/training_plots.h"

namespace rfm::launcher {

Command plot_command() {
  Command c;
  c.name = "plot";
  c.summary = "PNG plots of a run's loss terms, lr and evaluations (also while it runs)";
  c.options = {{"--run-dir", "DIR", "the run directory (default train.run_dir of --config)", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    const std::string run_dir = args.has("--run-dir") ? args.value("--run-dir") : load_config(args).train().run_dir();
    for (const auto& png : run::write_training_plots(run_dir)) std::cout << png << "\n";
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
