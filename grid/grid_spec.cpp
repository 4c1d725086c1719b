#include "grid/grid_spec.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "proto/config_loader.h"

namespace rfm::grid {
namespace {

namespace fs = std::filesystem;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == '+';
}

std::string last_part(const std::string& field) {
  const auto dot = field.rfind('.');
  return dot == std::string::npos ? field : field.substr(dot + 1);
}

// Column labels: each field's last part ("cc_weight"), or the whole path with
// dots as underscores when two axes end alike.
std::vector<std::string> axis_labels(const GridSpec& spec) {
  std::vector<std::string> labels;
  for (const auto& axis : spec.axis()) {
    int same = 0;
    for (const auto& other : spec.axis()) same += last_part(other.field()) == last_part(axis.field()) ? 1 : 0;
    std::string label = same > 1 ? axis.field() : last_part(axis.field());
    for (char& c : label) c = c == '.' ? '_' : c;
    labels.push_back(label);
  }
  return labels;
}

}  // namespace

std::string name_safe(const std::string& value) {
  std::string out;
  for (char c : value) out += is_name_char(c) ? c : '_';
  return out.empty() ? "_" : out;
}

GridSpec read_grid_spec(const std::string& grid_file) {
  std::ifstream in(grid_file, std::ios::binary);
  if (!in) throw config::ConfigError(grid_file + ": cannot open the grid file");
  std::ostringstream text;
  text << in.rdbuf();
  GridSpec spec;
  config::parse_text_format(text.str(), grid_file, &spec);
  auto fail = [&](const std::string& what) { throw config::ConfigError(grid_file + ": " + what); };
  if (spec.name().empty()) fail("name: missing (the grid's directory under root)");
  for (char c : spec.name()) {
    if (!is_name_char(c)) fail("name: '" + spec.name() + "' may hold only letters, digits and . _ - +");
  }
  if (spec.name() == "." || spec.name() == "..") fail("name: '" + spec.name() + "' is not a directory name");
  if (spec.base_config().empty()) fail("base_config: missing (the configuration every point starts from)");
  if (spec.root().empty()) fail("root: empty");
  if (spec.max_concurrent() < 1) fail("max_concurrent: " + std::to_string(spec.max_concurrent()) + " (must be >= 1)");
  std::set<std::string> fields;
  for (int a = 0; a < spec.axis_size(); ++a) {
    const auto& axis = spec.axis(a);
    const std::string where = "axis " + std::to_string(a + 1) + " (" + axis.field() + ")";
    if (axis.field().empty()) fail("axis " + std::to_string(a + 1) + ": field missing");
    if (axis.field() == "train.run_dir") fail(where + ": the grid sets each point's run directory itself");
    if (!fields.insert(axis.field()).second) fail(where + ": field repeated in another axis");
    if (axis.values_size() == 0) fail(where + ": no values");
    std::set<std::string> names;
    for (const auto& v : axis.values()) {
      if (!names.insert(name_safe(v)).second) fail(where + ": value '" + v + "' repeated (or alike once in a name)");
    }
  }
  for (const auto& s : spec.set()) {
    if (s.rfind("train.run_dir", 0) == 0) fail("set: " + s + ": the grid sets each point's run directory itself");
  }
  return spec;
}

ExpandedGrid expand_grid(const std::string& grid_file) {
  ExpandedGrid grid;
  grid.spec = read_grid_spec(grid_file);
  grid.grid_file = grid_file;
  grid.directory = (fs::path(grid.spec.root()) / grid.spec.name()).lexically_normal().string();
  grid.axis_labels = axis_labels(grid.spec);
  const fs::path base = fs::path(grid_file).parent_path() / grid.spec.base_config();
  if (!fs::is_regular_file(base)) {
    throw config::ConfigError(grid_file + ": base_config: " + base.string() + " does not exist");
  }

  size_t count = 1;
  for (const auto& axis : grid.spec.axis()) count *= static_cast<size_t>(axis.values_size());
  for (size_t i = 0; i < count; ++i) {
    GridPoint point;
    point.index = static_cast<int>(i);
    // Mixed radix, the last axis fastest.
    size_t rest = i;
    std::vector<size_t> picks(static_cast<size_t>(grid.spec.axis_size()));
    for (int a = grid.spec.axis_size() - 1; a >= 0; --a) {
      const auto n = static_cast<size_t>(grid.spec.axis(a).values_size());
      picks[static_cast<size_t>(a)] = rest % n;
      rest /= n;
    }
    std::vector<std::string> overrides(grid.spec.set().begin(), grid.spec.set().end());
    for (int a = 0; a < grid.spec.axis_size(); ++a) {
      const auto& axis = grid.spec.axis(a);
      const std::string& value = axis.values(static_cast<int>(picks[static_cast<size_t>(a)]));
      point.values.emplace_back(axis.field(), value);
      overrides.push_back(axis.field() + "=" + value);
      point.name += (a == 0 ? "" : "__") + grid.axis_labels[static_cast<size_t>(a)] + "-" + name_safe(value);
    }
    if (point.name.empty()) point.name = "base";
    point.run_dir = (fs::path(grid.directory) / point.name).string();
    overrides.push_back("train.run_dir=" + point.run_dir);
    try {
      point.config = config::load_run_config(base.string(), overrides);
      if (point.config.metrics().run_id().empty()) {
        // Unique across grids (points of two grids over the same axes share names).
        point.config.mutable_metrics()->set_run_id(grid.spec.name() + "." + point.name);
      }
    } catch (const config::ConfigError& e) {
      throw config::ConfigError(grid_file + ": point " + point.name + ": " + e.what());
    }
    grid.points.push_back(std::move(point));
  }
  return grid;
}

}  // namespace rfm::grid
