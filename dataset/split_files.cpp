#include "dataset/split_files.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "dataset/text_fields.h"

namespace fs = std::filesystem;

namespace rfm::dataset {

std::vector<int64_t> read_id_file(const fs::path& file, ValidationReport& report) {
  std::vector<int64_t> ids;
  std::ifstream in(file);
  if (!in) {
    report.error(file.string(), "missing split file");
    return ids;
  }
  std::string line;
  int line_no = 0;
  std::set<int64_t> seen;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim_field(line).empty()) continue;
    for (const auto& token : split_fields(line, ',')) {
      if (trim_field(token).empty()) continue;
      int64_t id = 0;
      if (!parse_int64(token, &id) || id < 0) {
        report.error(file.string() + ":" + std::to_string(line_no), "'" + trim_field(token) + "' is not a person id");
        continue;
      }
      if (!seen.insert(id).second) {
        report.error(file.string() + ":" + std::to_string(line_no), "person id " + std::to_string(id) + " listed twice");
        continue;
      }
      ids.push_back(id);
    }
  }
  if (ids.empty() && report.ok()) report.error(file.string(), "lists no person ids");
  return ids;
}

std::string pid_folder(int64_t pid) {
  std::ostringstream s;
  s << std::setw(4) << std::setfill('0') << pid;
  return s.str();
}

void read_path_label_index(const fs::path& root, const fs::path& file, Modality modality, Split split,
                           const std::function<int(const std::string& path)>& camera, DatasetListing& listing,
                           ValidationReport& report) {
  std::ifstream in(file);
  if (!in) {
    report.error(file.string(), "missing index file");
    return;
  }
  std::string line;
  int line_no = 0, listed = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = file.string() + ":" + std::to_string(line_no);
    if (trim_field(line).empty()) continue;
    std::istringstream fields(line);
    std::string path, label, extra;
    int64_t pid = 0;
    if (!(fields >> path >> label) || (fields >> extra) || !parse_int64(label, &pid) || pid < 0) {
      report.error(where, "expected 'relative/path label', got '" + trim_field(line) + "'");
      continue;
    }
    if (const auto missing = missing_image(root / path); !missing.empty()) {
      report.error(where, missing);
      continue;
    }
    ImageRecord r;
    r.path = path;
    r.pid = pid;
    r.camid = camera(path);
    r.modality = modality;
    r.split = split;
    listing.records.push_back(std::move(r));
    ++listed;
  }
  if (listed == 0 && line_no == 0) report.error(file.string(), "index file is empty");
}

std::string missing_image(const fs::path& image) {
  std::error_code ec;
  if (fs::is_regular_file(image, ec)) return "";
  return image.string() + ": no such image" + (ec ? " (" + ec.message() + ")" : "");
}

std::vector<std::string> image_files_in(const fs::path& dir, ValidationReport& report) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && has_image_extension(name)) files.push_back(name);
  }
  if (ec) {
    report.error(dir.string(), "cannot list folder (" + ec.message() + ")");
    return {};
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace rfm::dataset
