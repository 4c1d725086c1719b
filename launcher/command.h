#pragma once
// The command line as a table of commands: each command (a file
// *_command.cpp) declares its options, its help and what it runs; the
// parser accepts only the options of the command given, and the usage
// texts are written from the same declarations.

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "rfm_config.pb.h"

namespace rfm::launcher {

// A bad command line: exit 2 with the command's usage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string flag;   // "--checkpoint"
  std::string value;  // what follows it in the usage: "FILE"
  std::string help;
  bool repeatable = false;
};

// A command's options as given.
class ParsedArguments {
 public:
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The option's value, `fallback` when absent.
  std::string value(const std::string& flag, const std::string& fallback = "") const;
  // Every value of a repeatable option, in order.
  std::vector<std::string> values(const std::string& flag) const;
  // Throw UsageError ("--count: not a number: x") unless a whole number.
  int64_t integer(const std::string& flag, int64_t fallback) const;
  uint64_t unsigned_integer(const std::string& flag, uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

  void add(const std::string& flag, const std::string& value) { values_[flag].push_back(value); }
  void add_positional(const std::string& value) { positional_.push_back(value); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

struct Command {
  std::string name;
  std::string summary;     // what it does, for `rfm help`
  std::string positional;  // "" when it takes none; else its usage, e.g. "expand|pending|collect"
  std::vector<OptionSpec> options;
  // Started before any thread exists (`train` blocks the stop signals
  // there, so that every thread inherits the mask).
  std::function<void()> before_threads;
  std::function<int(const ParsedArguments&)> run;
};

// --config FILE and --set PATH=VALUE, which most commands take.
std::vector<OptionSpec> config_options();
// The run configuration of --config with the --set overrides (the defaults
// without --config).
config::RunConfig load_config(const ParsedArguments& args);

// Parses argv[first..argc) against `command`'s options.
ParsedArguments parse_arguments(const Command& command, int argc, char** argv, int first);

// `rfm help`: every command with its summary.
std::string general_usage(const std::vector<Command>& commands);
// `rfm help COMMAND`, and what a usage error of COMMAND prints.
std::string command_usage(const Command& command);

}  // namespace rfm::launcher
