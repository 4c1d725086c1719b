#include "trainer/run/training_plots.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "plot/line_chart.h"

namespace rfm::run {
namespace {

namespace fs = std::filesystem;

// A tab-separated file with a header row: column name -> values.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, '\t')) out.push_back(cell);
  return out;
}

Table read_table(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  Table t;
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path.string() + ": empty (no header)");
  t.header = split_tabs(line);
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    auto cells = split_tabs(line);
    // A run killed mid-write leaves a short last line: plot what is whole.
    if (cells.size() != t.header.size()) {
      if (in.peek() == EOF) break;
      throw std::runtime_error(path.string() + ":" + std::to_string(number) + ": " + std::to_string(cells.size()) +
                               " columns, the header has " + std::to_string(t.header.size()));
    }
    t.rows.push_back(std::move(cells));
  }
  return t;
}

double number_at(const Table& t, size_t row, int column, const fs::path& path) {
  try {
    return std::stod(t.rows[row][static_cast<size_t>(column)]);
  } catch (const std::exception&) {
    throw std::runtime_error(path.string() + ": row " + std::to_string(row + 2) + ", column " +
                             t.header[static_cast<size_t>(column)] + ": not a number");
  }
}

plot::Series series_of(const Table& t, const std::string& x, const std::string& y, const std::string& label,
                       const fs::path& path) {
  const int cx = t.column(x), cy = t.column(y);
  if (cx < 0 || cy < 0) throw std::runtime_error(path.string() + ": no column " + (cx < 0 ? x : y));
  plot::Series s;
  s.label = label;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    s.x.push_back(number_at(t, r, cx, path));
    s.y.push_back(number_at(t, r, cy, path));
  }
  return s;
}

// Every plot of a run: over steps, integer ticks.
plot::LineChartOptions over_steps(const std::string& title, const std::string& y_label) {
  plot::LineChartOptions o;
  o.title = title;
  o.x_label = "step";
  o.y_label = y_label;
  o.integer_x_ticks = true;
  return o;
}

}  // namespace

std::vector<std::string> write_training_plots(const std::string& run_dir) {
  const fs::path dir(run_dir);
  const auto train_log = dir / "train_log.tsv";
  const Table steps = read_table(train_log);
  fs::create_directories(dir / "plots");
  std::vector<std::string> written;

  std::vector<plot::Series> losses;
  for (const char* term : {"loss", "id", "triplet", "centre", "modality_id"}) {
    losses.push_back(series_of(steps, "step", term, term == std::string("loss") ? "total" : term, train_log));
  }
  const auto loss_png = (dir / "plots" / "loss.png").string();
  plot::draw_line_chart(losses, over_steps("Loss terms (global batch)", "loss")).write_png(loss_png);
  written.push_back(loss_png);

  const auto lr_png = (dir / "plots" / "lr.png").string();
  plot::draw_line_chart({series_of(steps, "step", "lr", "lr", train_log)}, over_steps("Learning rate", "lr"))
      .write_png(lr_png);
  written.push_back(lr_png);

  const auto eval_log = dir / "eval_log.tsv";
  if (fs::exists(eval_log)) {
    const Table evals = read_table(eval_log);
    const int protocol = evals.column("protocol");
    if (protocol < 0) throw std::runtime_error(eval_log.string() + ": no column protocol");
    std::map<std::string, Table> by_protocol;
    for (const auto& row : evals.rows) {
      auto& t = by_protocol[row[static_cast<size_t>(protocol)]];
      t.header = evals.header;
      t.rows.push_back(row);
    }
    std::vector<plot::Series> curves;
    for (const auto& [name, t] : by_protocol) {
      for (const char* metric : {"rank1", "map", "minp"}) {
        curves.push_back(series_of(t, "step", metric, name + " " + metric, eval_log));
      }
    }
    if (!curves.empty()) {
      const auto eval_png = (dir / "plots" / "evaluation.png").string();
      plot::draw_line_chart(curves, over_steps("Evaluation during training", "%")).write_png(eval_png);
      written.push_back(eval_png);
    }
  }
  return written;
}

}  // namespace rfm::run
