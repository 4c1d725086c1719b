// rfm: the command-line front of rfm-cluster.  The commands are a table
// (commands.h), each in its own *_command.cpp with its own options;
// `rfm help` lists them and `rfm help COMMAND` shows one's options.
// Exit codes: 0 success, 1 runtime failure, 2 bad command line or
// configuration, 3 non-finite loss or gradient, 4 bad dataset or pack,
// 5 unreadable checkpoint or feature file, 6 a rank died or hung
// (supervisor), 75 stopped by SIGTERM/SIGUSR1 with a checkpoint written
// (requeue).

#include <algorithm>
#include <iostream>
#include <string>

#include "launcher/commands.h"
#include "launcher/exit_codes.h"

namespace {

using rfm::launcher::Command;

const Command* find_command(const std::string& name) {
  const auto& table = rfm::launcher::command_table();
  const auto it = std::find_if(table.begin(), table.end(), [&](const Command& c) { return c.name == name; });
  return it == table.end() ? nullptr : &*it;
}

bool is_help(const std::string& arg) { return arg == "help" || arg == "-h" || arg == "--help"; }

}  // namespace

int main(int argc, char** argv) {
  const auto& table = rfm::launcher::command_table();
  const Command* command = nullptr;
  try {
    if (argc < 2) throw rfm::launcher::UsageError("missing command");
    const std::string name = argv[1];
    if (is_help(name)) {
      const Command* about = argc > 2 ? find_command(argv[2]) : nullptr;
      if (argc > 2 && about == nullptr) {
        throw rfm::launcher::UsageError("unknown command '" + std::string(argv[2]) + "'");
      }
      std::cout << (about ? rfm::launcher::command_usage(*about) : rfm::launcher::general_usage(table));
      return 0;
    }
    command = find_command(name);
    if (command == nullptr) throw rfm::launcher::UsageError("unknown command '" + name + "'");
    if (argc > 2 && is_help(argv[2])) {
      std::cout << rfm::launcher::command_usage(*command);
      return 0;
    }
    if (command->before_threads) command->before_threads();
    const auto args = rfm::launcher::parse_arguments(*command, argc, argv, 2);
    return command->run(args);
  } catch (...) {
    return rfm::launcher::report_failure("", command, table);
  }
}
