#include "evaluation/feature_set.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <google/protobuf/text_format.h>

namespace rfm::evaluation {
namespace fs = std::filesystem;
namespace {

void write_lines(const fs::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file, std::ios::trunc);
  if (!out) throw std::runtime_error(file.string() + ": cannot create");
  for (const auto& l : lines) out << l << '\n';
  if (!out) throw std::runtime_error(file.string() + ": write failed");
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

void write_set(const fs::path& dir, const std::string& role, const FeatureSet& set) {
  write_npy((dir / (role + ".npy")).string(), set.features);
  std::vector<std::string> labels;
  for (size_t i = 0; i < set.labels.size(); ++i) {
    labels.push_back(std::to_string(set.labels.pid[i]) + " " + std::to_string(set.labels.camid[i]));
  }
  write_lines(dir / (role + "_labels.txt"), labels);
  if (!set.paths.empty()) write_lines(dir / (role + "_paths.txt"), set.paths);
  if (!set.modality.empty()) {
    std::vector<std::string> modalities;
    for (const auto m : set.modality) modalities.push_back(dataset::modality_name(m));
    write_lines(dir / (role + "_modalities.txt"), modalities);
  }
}

FeatureSet read_set(const fs::path& dir, const std::string& role) {
  FeatureSet set;
  set.features = read_npy((dir / (role + ".npy")).string());
  const auto label_file = dir / (role + "_labels.txt");
  const auto lines = read_lines(label_file);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    int64_t pid = 0;
    int camid = 0;
    std::string extra;
    if (!(in >> pid >> camid) || (in >> extra)) {
      throw std::runtime_error(label_file.string() + ":" + std::to_string(i + 1) + ": expected 'pid camid', got '" +
                               lines[i] + "'");
    }
    set.labels.pid.push_back(pid);
    set.labels.camid.push_back(camid);
  }
  if (static_cast<int64_t>(set.labels.size()) != set.features.rows) {
    throw std::runtime_error(label_file.string() + ": " + std::to_string(set.labels.size()) + " labels for " +
                             std::to_string(set.features.rows) + " rows of " + role + ".npy");
  }
  const auto path_file = dir / (role + "_paths.txt");
  if (fs::exists(path_file)) {
    set.paths = read_lines(path_file);
    if (static_cast<int64_t>(set.paths.size()) != set.features.rows) {
      throw std::runtime_error(path_file.string() + ": " + std::to_string(set.paths.size()) + " paths for " +
                               std::to_string(set.features.rows) + " rows of " + role + ".npy");
    }
  }
  const auto modality_file = dir / (role + "_modalities.txt");
  if (fs::exists(modality_file)) {
    const auto lines = read_lines(modality_file);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i] != "visible" && lines[i] != "infrared") {
        throw std::runtime_error(modality_file.string() + ":" + std::to_string(i + 1) +
                                 ": expected 'visible' or 'infrared', got '" + lines[i] + "'");
      }
      set.modality.push_back(lines[i] == "infrared" ? dataset::Modality::kInfrared : dataset::Modality::kVisible);
    }
    if (static_cast<int64_t>(set.modality.size()) != set.features.rows) {
      throw std::runtime_error(modality_file.string() + ": " + std::to_string(set.modality.size()) +
                               " modalities for " + std::to_string(set.features.rows) + " rows of " + role + ".npy");
    }
  }
  return set;
}

}  // namespace

FeatureSet select_rows(const FeatureSet& set, const std::vector<int64_t>& rows) {
  FeatureSet out;
  out.features.rows = static_cast<int64_t>(rows.size());
  out.features.cols = set.features.cols;
  out.features.values.reserve(rows.size() * static_cast<size_t>(set.features.cols));
  for (const int64_t r : rows) {
    const auto* begin = set.features.values.data() + r * set.features.cols;
    out.features.values.insert(out.features.values.end(), begin, begin + set.features.cols);
    out.labels.pid.push_back(set.labels.pid[r]);
    out.labels.camid.push_back(set.labels.camid[r]);
    if (!set.paths.empty()) out.paths.push_back(set.paths[r]);
    if (!set.modality.empty()) out.modality.push_back(set.modality[r]);
  }
  return out;
}

void write_feature_directory(const std::string& dir, const FeatureDirectory& f) {
  fs::create_directories(dir);
  write_set(dir, "query", f.query);
  write_set(dir, "gallery", f.gallery);
  std::string text;
  google::protobuf::TextFormat::PrintToString(f.meta, &text);
  write_lines(fs::path(dir) / "features.pbtxt", {text});
}

FeatureDirectory read_feature_directory(const std::string& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": no such feature directory");
  FeatureDirectory f;
  f.query = read_set(dir, "query");
  f.gallery = read_set(dir, "gallery");
  if (f.query.features.cols != f.gallery.features.cols) {
    throw std::runtime_error(dir + ": query features have " + std::to_string(f.query.features.cols) +
                             " columns, gallery " + std::to_string(f.gallery.features.cols));
  }
  const fs::path meta = fs::path(dir) / "features.pbtxt";
  if (fs::exists(meta)) {
    std::ifstream in(meta);
    std::stringstream text;
    text << in.rdbuf();
    if (!google::protobuf::TextFormat::ParseFromString(text.str(), &f.meta)) {
      throw std::runtime_error(meta.string() + ": not a FeatureExport text proto");
    }
  }
  f.meta.set_feature_dim(static_cast<int32_t>(f.query.features.cols));
  return f;
}

}  // namespace rfm::evaluation
