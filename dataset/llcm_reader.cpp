#include <filesystem>
#include <map>
#include <regex>

#include "dataset/dataset_readers.h"
#include "dataset/split_files.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

// The cameras the reference's process_query_llcm / process_gallery_llcm
// walk, in that order: nine visible, and the infrared ones without camera 3.
const std::vector<int> kVisibleCameras = {1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<int> kInfraredCameras = {1, 2, 4, 5, 6, 7, 8, 9};

// The camera of a training image from its path ("train_vis/cam4/0012/x.jpg"),
// as the reference reads a test image's (the digit after "cam"); 0 when the
// path names none.
int camera_of(const std::string& path) {
  static const std::regex cam("cam([0-9])");
  std::smatch m;
  return std::regex_search(path, m, cam) ? m[1].str()[0] - '0' : 0;
}

}  // namespace

const std::vector<int>& llcm_cameras(Modality modality) {
  return modality == Modality::kVisible ? kVisibleCameras : kInfraredCameras;
}

DatasetListing list_llcm(const std::string& root_path, ValidationReport& report) {
  DatasetListing listing;
  listing.name = "LLCM";
  listing.root = root_path;
  const fs::path root(root_path);
  if (!fs::is_directory(root)) {
    report.error(root_path, "dataset root is not a directory");
    return listing;
  }
  for (const char* folder : {"idx", "test_vis", "test_nir"}) {
    if (!fs::is_directory(root / folder)) report.error((root / folder).string(), "missing folder");
  }
  const fs::path idx = root / "idx";
  read_path_label_index(root, idx / "train_vis.txt", Modality::kVisible, Split::kTrain, camera_of, listing, report);
  read_path_label_index(root, idx / "train_nir.txt", Modality::kInfrared, Split::kTrain, camera_of, listing, report);
  const auto test_ids = read_id_file(idx / "test_id.txt", report);

  std::map<int64_t, int> images_of;
  for (const auto& [folder, modality] : {std::pair<const char*, Modality>{"test_vis", Modality::kVisible},
                                         std::pair<const char*, Modality>{"test_nir", Modality::kInfrared}}) {
    for (const int cam : llcm_cameras(modality)) {
      const std::string cam_dir = std::string(folder) + "/cam" + std::to_string(cam);
      for (const int64_t pid : test_ids) {
        for (const auto& f : image_files_in(root / cam_dir / pid_folder(pid), report)) {
          ImageRecord r;
          r.path = cam_dir + "/" + pid_folder(pid) + "/" + f;
          r.pid = pid;
          r.camid = cam;
          r.modality = modality;
          r.split = Split::kTest;
          listing.records.push_back(std::move(r));
          ++images_of[pid];
        }
      }
    }
  }
  for (const int64_t pid : test_ids) {
    if (images_of.count(pid) == 0) {
      report.error((idx / "test_id.txt").string(), "person id " + std::to_string(pid) +
                                                       " has no images under test_vis/cam*/ or test_nir/cam*/" +
                                                       pid_folder(pid));
    }
  }
  return listing;
}

}  // namespace rfm::dataset
