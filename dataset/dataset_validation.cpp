#include "dataset/dataset_validation.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "dataset/image_codec.h"

namespace rfm::dataset {

DatasetListing check_images(const DatasetListing& listing, const ImageCheckOptions& options, ValidationReport& report) {
  const size_t n = listing.records.size();
  std::vector<std::string> failure(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      try {
        read_image_file(listing.full_path(listing.records[i]));
      } catch (const std::exception& e) {
        failure[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, options.threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  DatasetListing kept = listing;
  kept.records.clear();
  report.images_listed += static_cast<int64_t>(n);
  for (size_t i = 0; i < n; ++i) {
    if (failure[i].empty()) {
      kept.records.push_back(listing.records[i]);
      ++report.images_decoded;
      continue;
    }
    // The decoder's message starts with the path; split it off for the report.
    const std::string path = listing.full_path(listing.records[i]);
    std::string why = failure[i];
    if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);
    if (options.policy == CorruptPolicy::kSkip) {
      report.warning(path, why + " (skipped)");
      ++report.corrupt_skipped;
    } else {
      report.error(path, why);
    }
  }
  return kept;
}

void check_identities(const DatasetListing& listing, ValidationReport& report) {
  // (train?, pid) -> images per modality
  std::map<std::pair<bool, int64_t>, std::array<int64_t, 2>> counts;
  for (const auto& r : listing.records) {
    auto& c = counts[{r.split == Split::kTrain, r.pid}];
    ++c[static_cast<int>(r.modality)];
  }
  for (const auto& [key, c] : counts) {
    if (c[0] > 0 && c[1] > 0) continue;
    const std::string only = c[0] > 0 ? "visible" : "infrared";
    const std::string where = listing.name + " person " + std::to_string(key.second);
    if (key.first) {
      report.error(where, "training identity has " + only + " images only (" + std::to_string(c[0] + c[1]) +
                              "); cross-modality batches need both");
    } else {
      report.warning(where, "test identity has " + only + " images only");
    }
  }
}

}  // namespace rfm::dataset
