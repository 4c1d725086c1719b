#include "dataset/image_record.h"

#include <filesystem>

namespace rfm::dataset {

const char* modality_name(Modality m) { return m == Modality::kVisible ? "visible" : "infrared"; }

const char* split_name(Split s) {
  switch (s) {
    case Split::kTrain: return "train";
    case Split::kTest: return "test";
    case Split::kQuery: return "query";
    case Split::kGallery: return "gallery";
  }
  return "?";
}

std::string DatasetListing::full_path(const ImageRecord& r) const {
  const std::filesystem::path p(r.path);
  if (p.is_absolute() || root.empty()) return r.path;
  return (std::filesystem::path(root) / p).string();
}

}  // namespace rfm::dataset
