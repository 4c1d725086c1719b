#pragma once
// What `rfm` exits with, and the one-line report of the exception that
// ends a command (docs/COMMANDS.md lists the codes).

#include <string>

#include "launcher/command.h"

namespace rfm::launcher {

constexpr int kExitUsage = 2;       // bad command line or configuration
constexpr int kExitNonFinite = 3;   // non-finite loss or gradient
constexpr int kExitBadDataset = 4;  // dataset, image, pack or sampler
constexpr int kExitBadInput = 5;    // an unreadable checkpoint or feature file

// The exit code of the exception being handled, with its message on stderr
// behind `prefix` (which rank said it); a usage error also prints the usage
// of `command` (the general usage when nullptr).
int report_failure(const std::string& prefix, const Command* command, const std::vector<Command>& commands);

}  // namespace rfm::launcher
