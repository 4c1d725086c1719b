#include "dataset/training_set.h"

#include <map>

namespace rfm::dataset {

uint64_t fnv1a(const void* data, size_t size, uint64_t hash) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= p[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

TrainingSet make_training_set(const DatasetListing& listing) {
  TrainingSet set;
  set.name = listing.name;
  std::map<int64_t, int64_t> label_of;
  for (const auto& r : listing.records) {
    if (r.split != Split::kTrain) continue;
    set.images.push_back(r);
    label_of.emplace(r.pid, 0);
  }
  if (set.images.empty()) throw DatasetError(listing.name + ": no training images");
  for (auto& [pid, label] : label_of) {
    label = static_cast<int64_t>(set.pid_of_label.size());
    set.pid_of_label.push_back(pid);
  }
  set.visible.resize(label_of.size());
  set.infrared.resize(label_of.size());
  uint64_t h = fnv1a(nullptr, 0);
  for (size_t i = 0; i < set.images.size(); ++i) {
    const auto& r = set.images[i];
    const int64_t label = label_of[r.pid];
    set.labels.push_back(label);
    (r.modality == Modality::kVisible ? set.visible : set.infrared)[label].push_back(static_cast<int64_t>(i));
    h = fnv1a(r.path.data(), r.path.size() + 1, h);
    const int64_t fields[3] = {r.pid, r.camid, static_cast<int64_t>(r.modality)};
    h = fnv1a(fields, sizeof fields, h);
  }
  set.fingerprint = h;
  for (size_t label = 0; label < set.visible.size(); ++label) {
    if (set.visible[label].empty() || set.infrared[label].empty()) {
      throw DatasetError(listing.name + ": training person " + std::to_string(set.pid_of_label[label]) + " has no " +
                         (set.visible[label].empty() ? "visible" : "infrared") + " images");
    }
    set.num_visible += static_cast<int64_t>(set.visible[label].size());
    set.num_infrared += static_cast<int64_t>(set.infrared[label].size());
  }
  return set;
}

}  // namespace rfm::dataset
