#include <filesystem>

#include "dataset/dataset_readers.h"
#include "dataset/split_files.h"

namespace fs = std::filesystem;

namespace rfm::dataset {

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
  // One visible and one thermal camera: cameras 1 and 2.
  auto visible = [](const std::string&) { return 1; };
  auto thermal = [](const std::string&) { return 2; };
  const fs::path idx = root / "idx";
  read_path_label_index(root, idx / ("train_visible_" + t + ".txt"), Modality::kVisible, Split::kTrain, visible, listing, report);
  read_path_label_index(root, idx / ("train_thermal_" + t + ".txt"), Modality::kInfrared, Split::kTrain, thermal, listing, report);
  read_path_label_index(root, idx / ("test_visible_" + t + ".txt"), Modality::kVisible, Split::kTest, visible, listing, report);
  read_path_label_index(root, idx / ("test_thermal_" + t + ".txt"), Modality::kInfrared, Split::kTest, thermal, listing, report);
  return listing;
}

}  // namespace rfm::dataset
