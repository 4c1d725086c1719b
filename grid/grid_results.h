#pragma once
// `rfm grid collect`: every point's state and final evaluation in one table
// (results.csv, results.md, sorted by mAP) and a plot (results.png).

#include <optional>
#include <string>
#include <vector>

#include "grid/grid_spec.h"

namespace rfm::grid {

struct PointResult {
  const GridPoint* point = nullptr;
  std::string state;  // FINISHED, FAILED, REQUEUED, RUNNING, NOT_STARTED
  std::optional<int> exit_code;
  int restarts = 0;
  std::string job_id;
  int64_t steps = 0;  // rows in train_log.tsv
  // The last evaluation of the headline protocol (eval_log.tsv's first at
  // that step), in percent; absent without one.
  std::string protocol;
  std::optional<int64_t> eval_step;
  std::optional<double> rank1, map, minp;
  std::optional<double> best_map;
  std::optional<int64_t> best_step;
};

// Every point, finished ones with an evaluation first by mAP (highest
// first), then the others in grid order.
std::vector<PointResult> collect_results(const ExpandedGrid& grid);

// Write <grid dir>/results.{csv,md,png}; returns the paths.
std::vector<std::string> write_results(const ExpandedGrid& grid, const std::vector<PointResult>& results);

}  // namespace rfm::grid
