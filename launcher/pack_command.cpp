// rfm pack: the dataset decoded and resized once into data.pack.

#include <iostream>

#include "launcher/commands.h"
#include "loader/training_data.h"

namespace rfm::launcher {

Command pack_command() {
  Command c;
  c.name = "pack";
  c.summary = "decode and resize the dataset once into data.pack";
  c.options = config_options();
  c.run = [](const ParsedArguments& args) {
    loader::build_pack(load_config(args), std::cout).print(std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
