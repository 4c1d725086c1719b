#pragma once
// A grid's directory on disk: <root>/<name>/ holds grid.pbtxt (the grid file
// as submitted), points.tsv (array index -> point, config, run directory),
// configs/<point>.pbtxt, and one run directory per point, in which the Slurm
// array task records grid_status.pbtxt.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "grid/grid_spec.h"

namespace rfm::grid {

// configs/<point>.pbtxt of a point.
std::string point_config_path(const ExpandedGrid& grid, const GridPoint& point);

// Writes grid.pbtxt, configs/ and points.tsv (atomically).  Refuses
// (std::runtime_error) to renumber the points while one of them is recorded
// as running: its array task would read another point's line.  A finished
// point whose configuration changed keeps its results, with a warning on `log`.
void write_grid_directory(const ExpandedGrid& grid, std::ostream& log);

// <run_dir>/grid_status.pbtxt, or nothing when the point never started.
// An unreadable file is a config::ConfigError naming it.
std::optional<GridPointStatus> read_point_status(const std::string& run_dir);

// The array indices of the points not finished yet, in order.
std::vector<int> unfinished_points(const ExpandedGrid& grid);

// "0,2,5-7": Slurm's --array syntax for sorted indices.
std::string array_ranges(const std::vector<int>& indices);

}  // namespace rfm::grid
