#pragma once
// From a run configuration's `data` section to a checked listing: the
// reader its `source` names, then (optionally) a decode of every image,
// then the identity checks.  The one entry point `rfm validate`, `rfm pack`
// and `rfm train` share.

#include "dataset/dataset_validation.h"
#include "dataset/image_record.h"
#include "dataset/validation_report.h"
#include "rfm_config.pb.h"

namespace rfm::dataset {

struct DatasetCheck {
  bool decode_images = true;
  int threads = 2;
};

// Lists and checks; every problem goes to `report`.  Never throws for a bad
// dataset (RANDOM_IDENTITIES is a ConfigError: it has no files).
DatasetListing list_and_check(const config::DataConfig& data, const DatasetCheck& check, ValidationReport& report);

// The same, but a dataset with errors throws DatasetError with one line
// naming the first problem and the count of the others.
DatasetListing open_dataset(const config::DataConfig& data, const DatasetCheck& check, ValidationReport* report = nullptr);

CorruptPolicy corrupt_policy(const config::DataConfig& data);

}  // namespace rfm::dataset
