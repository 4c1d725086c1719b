#include "launcher/grid_command.h"

#include <fstream>
#include <iostream>
#include <stdexcept>

#include "grid/grid_directory.h"
#include "grid/grid_results.h"
#include "launcher/commands.h"

namespace rfm::launcher {

int run_grid_command(const std::string& action, const std::string& grid_file, std::ostream& out, std::ostream& err) {
  if (action != "expand" && action != "pending" && action != "collect") {
    throw std::invalid_argument("grid: unknown action '" + action + "' (expand, pending or collect)");
  }
  const auto grid = grid::expand_grid(grid_file);
  if (action == "collect") {
    const auto results = grid::collect_results(grid);
    const auto paths = grid::write_results(grid, results);
    std::ifstream md(paths[1]);
    out << md.rdbuf();
    for (const auto& p : paths) err << "wrote " << p << "\n";
    return 0;
  }
  grid::write_grid_directory(grid, err);
  if (action == "expand") {
    out << "grid " << grid.spec.name() << ": " << grid.points.size() << " points in " << grid.directory << "\n";
    for (const auto& p : grid.points) out << p.index << '\t' << p.name << '\t' << p.run_dir << "\n";
    return 0;
  }
  const auto todo = grid::unfinished_points(grid);
  err << "grid " << grid.spec.name() << ": " << grid.points.size() - todo.size() << " of " << grid.points.size()
      << " points finished, " << todo.size() << " to run\n";
  if (!todo.empty()) {
    out << grid::array_ranges(todo) << '%' << grid.spec.max_concurrent() << '\t' << "rfm-grid-" << grid.spec.name()
        << '\t' << grid.directory << "\n";
  }
  return 0;
}

Command grid_command() {
  Command c;
  c.name = "grid";
  c.summary = "a hyperparameter grid: expand writes its point configs, pending lists the array indices still to run "
              "(slurm/submit-grid), collect its results as CSV, Markdown and PNG";
  c.positional = "expand|pending|collect";
  c.options = {{"--grid", "FILE", "the grid file (proto/grid.proto's GridSpec in text format)", false}};
  c.run = [](const ParsedArguments& args) {
    if (args.positional().size() != 1) throw UsageError("grid needs one action: expand, pending or collect");
    if (!args.has("--grid")) throw UsageError("grid needs --grid FILE");
    try {
      return run_grid_command(args.positional().front(), args.value("--grid"), std::cout, std::cerr);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  };
  return c;
}

}  // namespace rfm::launcher
