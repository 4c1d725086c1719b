// rfm synthesize: writes the synthetic VIS/NIR dataset.

#include <iomanip>
#include <iostream>

#include "dataset/synthetic/synthetic_dataset.h"
#include "launcher/commands.h"

namespace rfm::launcher {

Command synthesize_command() {
  Command c;
  c.name = "synthesize";
  c.summary = "write the synthetic VIS/NIR dataset (synthetic.*) to synthetic.output or data.root";
  c.options = config_options();
  c.run = [](const ParsedArguments& args) {
    const auto config = load_config(args);
    const auto& y = config.synthetic();
    const std::string out = !y.output().empty() ? y.output() : config.data().root();
    if (out.empty()) throw UsageError("synthesize needs synthetic.output or data.root");
    const int threads = config.data().loader_threads() > 0 ? config.data().loader_threads() : 2;
    const auto s = dataset::synthetic::write_synthetic_dataset(y, out, threads);
    std::cout << (s.reused ? "found" : "wrote") << " synthetic " << config::SyntheticConfig::Layout_Name(y.layout())
              << " dataset in " << s.output << ": " << s.identities << " identities (" << y.train_identities()
              << " train, " << y.test_identities() << " test), " << s.visible_images << " visible + "
              << s.infrared_images << " infrared images";
    if (!s.reused) std::cout << " in " << std::fixed << std::setprecision(1) << s.seconds << std::defaultfloat << " s";
    std::cout << "\n";
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
