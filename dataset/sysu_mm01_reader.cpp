#include <filesystem>
#include <map>
#include <set>

#include "dataset/dataset_readers.h"
#include "dataset/split_files.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

constexpr int kCameras = 6;

}  // namespace

bool sysu_camera_is_infrared(int camid) { return camid == 3 || camid == 6; }

DatasetListing list_sysu_mm01(const std::string& root_path, const SysuOptions& options, ValidationReport& report) {
  DatasetListing listing;
  listing.name = "SYSU-MM01";
  listing.root = root_path;
  const fs::path root(root_path);
  if (!fs::is_directory(root)) {
    report.error(root_path, "dataset root is not a directory");
    return listing;
  }
  const auto train = read_id_file(root / "exp" / "train_id.txt", report);
  const auto val = read_id_file(root / "exp" / "val_id.txt", report);
  const auto test = read_id_file(root / "exp" / "test_id.txt", report);

  // Which split file names each id; an id in two files is an error.
  std::map<int64_t, std::string> source;
  std::map<int64_t, Split> split;
  auto assign = [&](const std::vector<int64_t>& ids, const char* file, bool used, Split s) {
    for (int64_t id : ids) {
      const auto [it, inserted] = source.emplace(id, file);
      if (!inserted) {
        report.error((root / "exp" / file).string(), "person id " + std::to_string(id) + " is also in " + it->second);
        continue;
      }
      if (used) split[id] = s;
    }
  };
  assign(train, "train_id.txt", true, Split::kTrain);
  assign(val, "val_id.txt", options.train_includes_val, Split::kTrain);
  assign(test, "test_id.txt", true, Split::kTest);

  std::map<int64_t, std::set<int>> cameras_of;
  for (int cam = 1; cam <= kCameras; ++cam) {
    const fs::path cam_dir = root / ("cam" + std::to_string(cam));
    if (!fs::is_directory(cam_dir)) {
      report.error(cam_dir.string(), "missing camera folder");
      continue;
    }
    for (const auto& [pid, s] : split) {
      // Not every identity passes every camera: a missing folder lists nothing.
      const auto files = image_files_in(cam_dir / pid_folder(pid), report);
      for (const auto& f : files) {
        ImageRecord r;
        r.path = "cam" + std::to_string(cam) + "/" + pid_folder(pid) + "/" + f;
        r.pid = pid;
        r.camid = cam;
        r.modality = sysu_camera_is_infrared(cam) ? Modality::kInfrared : Modality::kVisible;
        r.split = s;
        listing.records.push_back(std::move(r));
      }
      if (!files.empty()) cameras_of[pid].insert(cam);
    }
  }
  for (const auto& [pid, s] : split) {
    if (cameras_of.count(pid) == 0) {
      report.error((root / "exp" / source[pid]).string(),
                   "person id " + std::to_string(pid) + " has no images under cam1..cam6/" + pid_folder(pid));
    }
  }
  return listing;
}

}  // namespace rfm::dataset
