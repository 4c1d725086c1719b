#include "launcher/command.h"

#include <algorithm>
#include <sstream>

#include "proto/config_loader.h"

namespace rfm::launcher {

std::string ParsedArguments::value(const std::string& flag, const std::string& fallback) const {
  const auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArguments::values(const std::string& flag) const {
  const auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t ParsedArguments::integer(const std::string& flag, int64_t fallback) const {
  if (!has(flag)) return fallback;
  const std::string v = value(flag);
  size_t used = 0;
  try {
    const int64_t n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (const std::logic_error&) {
  }
  throw UsageError(flag + ": not a number: " + v);
}

uint64_t ParsedArguments::unsigned_integer(const std::string& flag, uint64_t fallback) const {
  if (!has(flag)) return fallback;
  const std::string v = value(flag);
  size_t used = 0;
  try {
    if (!v.empty() && v[0] != '-') {
      const uint64_t n = std::stoull(v, &used);
      if (used == v.size()) return n;
    }
  } catch (const std::logic_error&) {
  }
  throw UsageError(flag + ": not a number: " + v);
}

std::vector<OptionSpec> config_options() {
  return {{"--config", "FILE", "protobuf text-format run configuration (configs/*.pbtxt)", false},
          {"--set", "PATH=VALUE", "override one field, e.g. --set ltg.probability=0.7", true}};
}

config::RunConfig load_config(const ParsedArguments& args) {
  return config::load_run_config(args.value("--config"), args.values("--set"));
}

ParsedArguments parse_arguments(const Command& command, int argc, char** argv, int first) {
  ParsedArguments parsed;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      if (command.positional.empty()) throw UsageError(command.name + " takes no argument '" + arg + "'");
      parsed.add_positional(arg);
      continue;
    }
    const auto spec = std::find_if(command.options.begin(), command.options.end(),
                                   [&](const OptionSpec& o) { return o.flag == arg; });
    if (spec == command.options.end()) throw UsageError("unknown option " + arg + " for " + command.name);
    if (i + 1 >= argc) throw UsageError(arg + " needs a value");
    if (!spec->repeatable && parsed.has(arg)) throw UsageError(arg + " given more than once");
    parsed.add(arg, argv[++i]);
  }
  return parsed;
}

std::string general_usage(const std::vector<Command>& commands) {
  std::ostringstream out;
  out << "usage: rfm <command> [options]   (rfm help <command>: its options)\ncommands:\n";
  for (const auto& c : commands) {
    out << "  " << c.name << std::string(c.name.size() < 18 ? 18 - c.name.size() : 1, ' ') << c.summary << "\n";
  }
  return out.str();
}

std::string command_usage(const Command& c) {
  std::ostringstream out;
  out << "usage: rfm " << c.name;
  if (!c.positional.empty()) out << " " << c.positional;
  for (const auto& o : c.options) out << " [" << o.flag << " " << o.value << "]" << (o.repeatable ? "..." : "");
  out << "\n  " << c.summary << "\n";
  if (!c.options.empty()) out << "options:\n";
  for (const auto& o : c.options) {
    const std::string head = o.flag + " " + o.value;
    out << "  " << head << std::string(head.size() < 24 ? 24 - head.size() : 1, ' ') << o.help
        << (o.repeatable ? " (repeatable)" : "") << "\n";
  }
  return out.str();
}

}  // namespace rfm::launcher
