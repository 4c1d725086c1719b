// rfm check-config: validates a configuration, prints the effective one.

#include <iostream>

#include "launcher/commands.h"
#include "proto/config_loader.h"

namespace rfm::launcher {

Command check_config_command() {
  Command c;
  c.name = "check-config";
  c.summary = "validate a configuration and print the effective one";
  c.options = config_options();
  c.run = [](const ParsedArguments& args) {
    std::cout << config::to_text(load_config(args));
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
