#include "grid/grid_directory.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "proto/config_loader.h"

namespace rfm::grid {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Write to a temporary name and rename: a reader (an array task starting)
// never sees half a file.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp.string() + ": cannot write");
    out << text;
    if (!out.flush()) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, path);
}

// The point names of an existing points.tsv, in order.
std::vector<std::string> listed_points(const fs::path& tsv) {
  std::vector<std::string> names;
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string index, name;
    if (std::getline(cells, index, '\t') && std::getline(cells, name, '\t')) names.push_back(name);
  }
  return names;
}

}  // namespace

std::string point_config_path(const ExpandedGrid& grid, const GridPoint& point) {
  return (fs::path(grid.directory) / "configs" / (point.name + ".pbtxt")).string();
}

std::optional<GridPointStatus> read_point_status(const std::string& run_dir) {
  const fs::path path = fs::path(run_dir) / "grid_status.pbtxt";
  if (!fs::exists(path)) return std::nullopt;
  GridPointStatus status;
  config::parse_text_format(read_text(path), path.string(), &status);
  return status;
}

void write_grid_directory(const ExpandedGrid& grid, std::ostream& log) {
  const fs::path dir(grid.directory);
  fs::create_directories(dir / "configs");
  const fs::path tsv = dir / "points.tsv";
  std::vector<std::string> names;
  for (const auto& p : grid.points) names.push_back(p.name);
  if (fs::exists(tsv)) {
    const auto before = listed_points(tsv);
    if (before != names) {
      for (const auto& name : before) {
        const auto status = read_point_status((dir / name).string());
        if (status && status->state() == GridPointStatus::RUNNING) {
          throw std::runtime_error(tsv.string() + ": the grid's points changed while point " + name +
                                   " is recorded as running (job " + status->job_id() +
                                   "); wait for it or scancel it before resubmitting");
        }
      }
    }
  }
  write_atomically(dir / "grid.pbtxt", read_text(grid.grid_file));
  std::ostringstream table;
  table << "index\tpoint\tconfig\trun_dir\n";
  for (const auto& p : grid.points) {
    const std::string path = point_config_path(grid, p);
    std::string text = "# Grid " + grid.spec.name() + ", point " + std::to_string(p.index) + " (" + p.name +
                       "), from " + grid.grid_file + "; written by `rfm grid`.\n" + config::to_text(p.config);
    const auto status = read_point_status(p.run_dir);
    if (fs::exists(path) && read_text(path) != text && status && status->state() == GridPointStatus::FINISHED) {
      log << "warning: point " << p.name << " finished with another configuration; its results stay (delete "
          << p.run_dir << " to run it again)\n";
    }
    write_atomically(path, text);
    table << p.index << '\t' << p.name << '\t' << path << '\t' << p.run_dir << '\n';
  }
  write_atomically(tsv, table.str());
}

std::vector<int> unfinished_points(const ExpandedGrid& grid) {
  std::vector<int> out;
  for (const auto& p : grid.points) {
    const auto status = read_point_status(p.run_dir);
    if (!status || status->state() != GridPointStatus::FINISHED) out.push_back(p.index);
  }
  return out;
}

std::string array_ranges(const std::vector<int>& indices) {
  std::string out;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(indices[i]);
    if (j > i) out += '-' + std::to_string(indices[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace rfm::grid
