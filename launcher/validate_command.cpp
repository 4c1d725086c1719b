// rfm validate: checks data.source's dataset, every image decoded.

#include <iostream>

#include "dataset/dataset_source.h"
#include "launcher/commands.h"
#include "launcher/exit_codes.h"

namespace rfm::launcher {

Command validate_command() {
  Command c;
  c.name = "validate";
  c.summary = "check data.source's dataset: layout, split files, every image decoded";
  c.options = config_options();
  c.run = [](const ParsedArguments& args) {
    const auto config = load_config(args);
    dataset::DatasetCheck check;
    check.decode_images = true;
    check.threads = config.data().loader_threads() > 0 ? config.data().loader_threads() : 2;
    dataset::ValidationReport report;
    const auto listing = dataset::list_and_check(config.data(), check, report);
    report.print(std::cout);
    if (!report.ok()) {
      std::cerr << "rfm: " << report.first_error_line(listing.name.empty() ? config.data().root() : listing.name)
                << "\n";
      return kExitBadDataset;
    }
    std::cout << listing.name << " is valid\n";
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
