#pragma once
// The training split of a listing as the sampler sees it: dense labels
// 0..C-1 (person ids in increasing order), and for each label the images of
// each modality.

#include <cstdint>
#include <string>
#include <vector>

#include "dataset/image_record.h"

namespace rfm::dataset {

struct TrainingSet {
  std::string name;
  std::vector<ImageRecord> images;            // split kTrain, listing order
  std::vector<int64_t> labels;                // per image
  std::vector<int64_t> pid_of_label;          // label -> the dataset's person id
  std::vector<std::vector<int64_t>> visible;  // label -> indices into images
  std::vector<std::vector<int64_t>> infrared;
  int64_t num_visible = 0;
  int64_t num_infrared = 0;
  // FNV-1a over (path, pid, camid, modality) of `images`: the sampler's
  // checkpointed state is only valid for the same training set.
  uint64_t fingerprint = 0;

  int64_t num_classes() const { return static_cast<int64_t>(pid_of_label.size()); }
};

// Throws DatasetError when a training identity lacks a modality or the
// split is empty (check_identities reports the same, with every identity).
TrainingSet make_training_set(const DatasetListing& listing);

uint64_t fnv1a(const void* data, size_t size, uint64_t hash = 1469598103934665603ull);

}  // namespace rfm::dataset
