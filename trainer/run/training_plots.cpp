#include "trainer/run/training_plots.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "plot/line_chart.h"
#include "plot/tsv_table.h"
#include "trainer/loss/loss_terms.h"

namespace rfm::run {
namespace {

namespace fs = std::filesystem;

using Table = plot::TsvTable;

plot::Series series_of(const Table& t, const std::string& x, const std::string& y, const std::string& label,
                       const fs::path& path) {
  const int cx = t.column(x), cy = t.column(y);
  if (cx < 0 || cy < 0) throw std::runtime_error(path.string() + ": no column " + (cx < 0 ? x : y));
  plot::Series s;
  s.label = label;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    s.x.push_back(t.number(r, cx));
    s.y.push_back(t.number(r, cy));
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
  const Table steps = plot::read_tsv_table(train_log.string());
  fs::create_directories(dir / "plots");
  std::vector<std::string> written;

  std::vector<plot::Series> losses;
  for (const auto& term : loss::kLossTerms) {
    if (!term.detail) losses.push_back(series_of(steps, "step", term.name, term.name, train_log));
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
    const Table evals = plot::read_tsv_table(eval_log.string());
    const int protocol = evals.column("protocol");
    if (protocol < 0) throw std::runtime_error(eval_log.string() + ": no column protocol");
    std::map<std::string, Table> by_protocol;
    for (const auto& row : evals.rows) {
      auto& t = by_protocol[row[static_cast<size_t>(protocol)]];
      t.header = evals.header;
      t.path = evals.path;
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
