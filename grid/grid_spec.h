#pragma once
// A hyperparameter grid: the grid file (proto/grid.proto's GridSpec) and its
// expansion into points, each a complete, validated run configuration with
// a stable name and run directory.

#include <string>
#include <utility>
#include <vector>

#include "grid.pb.h"
#include "rfm_config.pb.h"

namespace rfm::grid {

struct GridPoint {
  int index = 0;     // position in the expansion: the Slurm array index
  std::string name;  // e.g. "cc_weight-0.5__beta-0.3": the run directory's name
  std::vector<std::pair<std::string, std::string>> values;  // (field, value) per axis
  config::RunConfig config;  // base + set + values, run_dir and run_id filled in
  std::string run_dir;
};

struct ExpandedGrid {
  GridSpec spec;
  std::string grid_file;
  std::string directory;  // <root>/<name>: points.tsv, configs/, results.*, one run directory per point
  std::vector<std::string> axis_labels;  // column names for the axes (the fields' last parts when unique)
  std::vector<GridPoint> points;
};

// Reads and checks a grid file (config::ConfigError naming the file and
// field: a bad name, no base config, an empty or repeated axis).
GridSpec read_grid_spec(const std::string& grid_file);

// The points, in order: the Cartesian product of the axes, the last axis
// fastest.  Each point's configuration is loaded and validated; a value that
// makes it invalid is named with its point (config::ConfigError).
ExpandedGrid expand_grid(const std::string& grid_file);

// "0.5" -> "0.5", "[1, 2]" -> "_1__2_": what a value looks like in a name.
std::string name_safe(const std::string& value);

}  // namespace rfm::grid
