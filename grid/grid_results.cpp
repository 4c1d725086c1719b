#include "grid/grid_results.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "grid/grid_directory.h"
#include "plot/line_chart.h"
#include "plot/tsv_table.h"

namespace rfm::grid {
namespace {

namespace fs = std::filesystem;

std::string state_name(const std::optional<GridPointStatus>& status) {
  if (!status) return "NOT_STARTED";
  return GridPointStatus::State_Name(status->state());
}

int64_t count_steps(const fs::path& train_log) {
  if (!fs::exists(train_log)) return 0;
  return static_cast<int64_t>(plot::read_tsv_table(train_log.string()).rows.size());
}

// The final and the best evaluation of the headline protocol (the first a
// report lists, e.g. SYSU-MM01 all-search).
void read_evaluations(const fs::path& eval_log, PointResult& r) {
  if (!fs::exists(eval_log)) return;
  const auto t = plot::read_tsv_table(eval_log.string());
  const int step = t.column("step"), protocol = t.column("protocol"), rank1 = t.column("rank1"),
            map = t.column("map"), minp = t.column("minp");
  if (step < 0 || protocol < 0 || rank1 < 0 || map < 0 || minp < 0) {
    throw std::runtime_error(eval_log.string() + ": expected columns step, protocol, rank1, map, minp");
  }
  if (t.rows.empty()) return;
  r.protocol = t.rows.front()[static_cast<size_t>(protocol)];
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (t.rows[i][static_cast<size_t>(protocol)] != r.protocol) continue;
    const auto at = static_cast<int64_t>(t.number(i, step));
    const double m = t.number(i, map);
    if (!r.eval_step || at >= *r.eval_step) {
      r.eval_step = at;
      r.rank1 = t.number(i, rank1);
      r.map = m;
      r.minp = t.number(i, minp);
    }
    if (!r.best_map || m > *r.best_map) {
      r.best_map = m;
      r.best_step = at;
    }
  }
}

std::string fixed2(const std::optional<double>& v) {
  if (!v) return "";
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << *v;
  return out.str();
}

template <typename T>
std::string or_empty(const std::optional<T>& v) {
  return v ? std::to_string(*v) : "";
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

struct Column {
  std::string name;
  std::string (*cell)(const PointResult&);
};

const std::vector<Column>& result_columns() {
  static const std::vector<Column> columns = {
      {"state", [](const PointResult& r) { return r.state; }},
      {"exit_code", [](const PointResult& r) { return or_empty(r.exit_code); }},
      {"map", [](const PointResult& r) { return fixed2(r.map); }},
      {"rank1", [](const PointResult& r) { return fixed2(r.rank1); }},
      {"minp", [](const PointResult& r) { return fixed2(r.minp); }},
      {"eval_step", [](const PointResult& r) { return or_empty(r.eval_step); }},
      {"best_map", [](const PointResult& r) { return fixed2(r.best_map); }},
      {"best_step", [](const PointResult& r) { return or_empty(r.best_step); }},
      {"steps", [](const PointResult& r) { return std::to_string(r.steps); }},
      {"restarts", [](const PointResult& r) { return std::to_string(r.restarts); }},
      {"job", [](const PointResult& r) { return r.job_id; }},
      {"protocol", [](const PointResult& r) { return r.protocol; }},
      {"run_dir", [](const PointResult& r) { return r.point->run_dir; }},
  };
  return columns;
}

// One row's cells: order, point, the axis values, then result_columns().
std::vector<std::string> row_cells(size_t order, const PointResult& r) {
  std::vector<std::string> cells = {std::to_string(order + 1), r.point->name};
  for (const auto& [field, value] : r.point->values) cells.push_back(value);
  for (const auto& c : result_columns()) cells.push_back(c.cell(r));
  return cells;
}

std::vector<std::string> header(const ExpandedGrid& grid) {
  std::vector<std::string> h = {"order", "point"};
  for (const auto& label : grid.axis_labels) h.push_back(label);
  for (const auto& c : result_columns()) h.push_back(c.name);
  return h;
}

void write_csv(const ExpandedGrid& grid, const std::vector<PointResult>& results, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot write");
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_cell(cells[i]);
    out << '\n';
  };
  line(header(grid));
  for (size_t i = 0; i < results.size(); ++i) line(row_cells(i, results[i]));
}

void write_markdown(const ExpandedGrid& grid, const std::vector<PointResult>& results, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot write");
  size_t finished = 0, failed = 0;
  for (const auto& r : results) {
    finished += r.state == "FINISHED" ? 1 : 0;
    failed += r.state == "FAILED" ? 1 : 0;
  }
  out << "# Grid " << grid.spec.name() << "\n\n"
      << results.size() << " points, " << finished << " finished, " << failed << " failed"
      << ". mAP, Rank-1 and mINP (%) of the last evaluation"
      << (results.empty() || results.front().protocol.empty() ? "" : " (" + results.front().protocol + ")")
      << "; best is the highest mAP over the run's evaluations.\n\n";
  const auto h = header(grid);
  // run_dir is long and in the CSV; the Markdown is for reading.
  const size_t shown = h.size() - 1;
  for (size_t i = 0; i < shown; ++i) out << "| " << h[i] << " ";
  out << "|\n";
  for (size_t i = 0; i < shown; ++i) out << "|---";
  out << "|\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const auto cells = row_cells(i, results[i]);
    for (size_t c = 0; c < shown; ++c) {
      std::string cell = cells[c];
      std::replace(cell.begin(), cell.end(), '|', '/');
      out << "| " << cell << " ";
    }
    out << "|\n";
  }
}

// mAP over the first axis, one line per combination of the others; the
// first axis's values as x when they are all numbers, else their positions.
void write_plot(const ExpandedGrid& grid, const std::vector<PointResult>& results, const std::string& path) {
  bool numeric = grid.spec.axis_size() > 0;
  if (numeric) {
    for (const auto& v : grid.spec.axis(0).values()) {
      try {
        size_t used = 0;
        std::stod(v, &used);
        numeric = numeric && used == v.size();
      } catch (const std::exception&) {
        numeric = false;
      }
    }
  }
  std::map<std::string, plot::Series> lines;
  std::vector<std::string> order;
  size_t plotted = 0;
  for (const auto& p : grid.points) {
    std::string label;
    for (size_t a = 1; a < p.values.size(); ++a) {
      label += (a > 1 ? ", " : "") + grid.axis_labels[a] + "=" + p.values[a].second;
    }
    if (label.empty()) label = "mAP";
    if (!lines.count(label)) order.push_back(label);
    auto& s = lines[label];
    s.label = label;
    const auto r = std::find_if(results.begin(), results.end(), [&](const PointResult& x) { return x.point == &p; });
    if (r == results.end() || r->state != "FINISHED" || !r->map) continue;
    double x = 1;
    if (!p.values.empty()) {
      const auto& values = grid.spec.axis(0).values();
      const auto pos = std::find(values.begin(), values.end(), p.values[0].second) - values.begin();
      x = numeric ? std::stod(p.values[0].second) : static_cast<double>(pos + 1);
    }
    s.x.push_back(x);
    s.y.push_back(*r->map);
    ++plotted;
  }
  std::vector<plot::Series> series;
  for (const auto& label : order) {
    if (!lines[label].x.empty()) series.push_back(lines[label]);
  }
  plot::LineChartOptions o;
  o.title = "Grid " + grid.spec.name() + ": mAP of " + std::to_string(plotted) + " of " +
            std::to_string(grid.points.size()) + " points";
  o.x_label = grid.axis_labels.empty() ? "point" : grid.axis_labels.front() + (numeric ? "" : " (value number)");
  o.y_label = "mAP (%)";
  o.integer_x_ticks = !numeric;
  if (series.empty()) series.push_back(plot::Series{"no finished point", {}, {}});
  plot::draw_line_chart(series, o).write_png(path);
}

}  // namespace

std::vector<PointResult> collect_results(const ExpandedGrid& grid) {
  std::vector<PointResult> results;
  for (const auto& p : grid.points) {
    PointResult r;
    r.point = &p;
    const auto status = read_point_status(p.run_dir);
    r.state = state_name(status);
    if (status) {
      if (status->state() != GridPointStatus::RUNNING) r.exit_code = status->exit_code();
      r.restarts = status->restarts();
      r.job_id = status->job_id();
    }
    r.steps = count_steps(fs::path(p.run_dir) / "train_log.tsv");
    read_evaluations(fs::path(p.run_dir) / "eval_log.tsv", r);
    results.push_back(std::move(r));
  }
  auto ranked = [](const PointResult& r) { return r.state == "FINISHED" && r.map.has_value(); };
  std::stable_sort(results.begin(), results.end(), [&](const PointResult& a, const PointResult& b) {
    if (ranked(a) != ranked(b)) return ranked(a);
    if (ranked(a)) return *a.map > *b.map;
    return false;  // the rest keep grid order
  });
  return results;
}

std::vector<std::string> write_results(const ExpandedGrid& grid, const std::vector<PointResult>& results) {
  const fs::path dir(grid.directory);
  fs::create_directories(dir);
  const std::vector<std::string> paths = {(dir / "results.csv").string(), (dir / "results.md").string(),
                                          (dir / "results.png").string()};
  write_csv(grid, results, paths[0]);
  write_markdown(grid, results, paths[1]);
  write_plot(grid, results, paths[2]);
  return paths;
}

}  // namespace rfm::grid
