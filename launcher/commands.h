#pragma once
// Every command of `rfm`, one factory per *_command.cpp file; the table in
// command_table.cpp lists them in the order `rfm help` shows.

#include <vector>

#include "launcher/command.h"

namespace rfm::launcher {

Command train_command();
Command launch_command();
Command status_command();
Command plot_command();
Command check_config_command();
Command ltg_preview_command();
Command synthesize_command();
Command validate_command();
Command pack_command();
Command evaluate_command();
Command evaluate_features_command();
Command grid_command();
Command inspect_command();
Command export_command();
Command embed_command();
Command search_command();
Command version_command();

const std::vector<Command>& command_table();

}  // namespace rfm::launcher
