#include <filesystem>
#include <fstream>
#include <sstream>

#include "dataset/dataset_readers.h"
#include "dataset/text_fields.h"

namespace fs = std::filesystem;

namespace rfm::data {
namespace {

void read_index(const fs::path& root, const std::string& file_name, Modality modality, Split split,
                DatasetListing& listing, ValidationReport& report) {
  const fs::path file = root / "idx" / file_name;
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
    if (!fs::is_regular_file(root / path)) {
      report.error(where, (root / path).string() + ": no such image");
      continue;
    }
    ImageRecord r;
    r.path = path;
    r.pid = pid;
    r.camid = modality == Modality::kVisible ? 1 : 2;
    r.modality = modality;
    r.split = split;
    listing.records.push_back(std::move(r));
    ++listed;
  }
  if (listed == 0 && line_no == 0) report.error(file.string(), "index file is empty");
}

}  // namespace

DatasetListing list_regdb(const std::string& root_path, int trial, ValidationReport& report) {
  DatasetListing listing;
  listing.name = "RegDB trial " + std::to_string(trial);
  listing.root = root_path;
  const fs::path root(root_path);
  if (!fs::is_directory(root)) {
    report.error(root_path, "dataset root is not a directory");
    return listing;
  }
  for (const char* folder : {"Visible", "Thermal", "idx"}) {
    if (!fs::is_directory(root / folder)) report.error((root / folder).string(), "missing folder");
  }
  if (trial < 1 || trial > 10) {
    report.error(root_path, "trial " + std::to_string(trial) + " is not in 1..10");
    return listing;
  }
  const std::string t = std::to_string(trial);
  read_index(root, "train_visible_" + t + ".txt", Modality::kVisible, Split::kTrain, listing, report);
  read_index(root, "train_thermal_" + t + ".txt", Modality::kInfrared, Split::kTrain, listing, report);
  read_index(root, "test_visible_" + t + ".txt", Modality::kVisible, Split::kTest, listing, report);
  read_index(root, "test_thermal_" + t + ".txt", Modality::kInfrared, Split::kTest, listing, report);
  return listing;
}

}  // namespace rfm::data
