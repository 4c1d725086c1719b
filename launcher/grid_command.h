#pragma once
// `rfm grid expand | pending | collect --grid FILE`: the grid side of
// slurm/submit-grid and slurm/rfm-grid-point.sbatch.

#include <ostream>
#include <string>

namespace rfm::launcher {

// `action`: expand (write the grid directory, list the points), pending
// (also print "<--array value>\t<job name>\t<grid dir>" of the unfinished
// points, or nothing when all finished), collect (results.csv/md/png).
// Returns the exit code; throws config::ConfigError for a bad grid file.
int run_grid_command(const std::string& action, const std::string& grid_file, std::ostream& out, std::ostream& err);

}  // namespace rfm::launcher
