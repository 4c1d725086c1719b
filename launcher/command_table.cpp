#include "launcher/commands.h"

namespace rfm::launcher {

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      train_command(),    launch_command(),   status_command(),   plot_command(),
      check_config_command(), ltg_preview_command(), synthesize_command(), validate_command(),
      pack_command(),     evaluate_command(), evaluate_features_command(), grid_command(),
      inspect_command(),  export_command(),   embed_command(),    search_command(), version_command()};
  return table;
}

}  // namespace rfm::launcher
