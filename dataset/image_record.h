#pragma once
// What a dataset reader lists: one record per image file, with the person,
// camera, modality and split it belongs to.  Readers list; they do not
// decode (dataset_validation.h does).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rfm::dataset {

enum class Modality : int { kVisible = 0, kInfrared = 1 };
enum class Split : int { kTrain = 0, kTest = 1, kQuery = 2, kGallery = 3 };

const char* modality_name(Modality m);
const char* split_name(Split s);

struct ImageRecord {
  std::string path;  // relative to the listing's root (or absolute)
  int64_t pid = 0;   // the dataset's own person id
  int camid = 0;
  Modality modality = Modality::kVisible;
  Split split = Split::kTrain;
};

struct DatasetListing {
  std::string name;  // "SYSU-MM01", "RegDB trial 3", "manifest x.tsv"
  std::string root;
  std::vector<ImageRecord> records;
  std::string full_path(const ImageRecord& r) const;
};

// A dataset that cannot be used as it is: a missing folder or file, a
// malformed split or manifest line, a corrupt image under the FAIL policy.
// The message is one line that names the file (and line) at fault.
class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rfm::dataset
