#include "dataset/dataset_source.h"

#include "dataset/dataset_readers.h"
#include "proto/config_loader.h"

namespace rfm::dataset {

CorruptPolicy corrupt_policy(const config::DataConfig& data) {
  return data.corrupt_images() == config::DataConfig::SKIP ? CorruptPolicy::kSkip : CorruptPolicy::kFail;
}

DatasetListing list_and_check(const config::DataConfig& data, const DatasetCheck& check, ValidationReport& report) {
  DatasetListing listing;
  switch (data.source()) {
    case config::DataConfig::SYSU_MM01: {
      SysuOptions o;
      o.train_includes_val = data.sysu_train_includes_val();
      listing = list_sysu_mm01(data.root(), o, report);
      break;
    }
    case config::DataConfig::REGDB: listing = list_regdb(data.root(), data.regdb_trial(), report); break;
    case config::DataConfig::LLCM: listing = list_llcm(data.root(), report); break;
    case config::DataConfig::MANIFEST: listing = list_manifest(data.manifest(), data.root(), report); break;
    default:
      throw config::ConfigError("data.source = " + config::DataConfig::Source_Name(data.source()) +
                                ": has no files to list (use SYSU_MM01, REGDB, LLCM or MANIFEST)");
  }
  if (check.decode_images && report.ok()) {
    ImageCheckOptions o;
    o.policy = corrupt_policy(data);
    o.threads = check.threads;
    listing = check_images(listing, o, report);
  } else {
    report.images_listed += static_cast<int64_t>(listing.records.size());
  }
  if (report.ok()) check_identities(listing, report);
  return listing;
}

DatasetListing open_dataset(const config::DataConfig& data, const DatasetCheck& check, ValidationReport* report) {
  ValidationReport local;
  ValidationReport& r = report ? *report : local;
  auto listing = list_and_check(data, check, r);
  if (!r.ok()) throw DatasetError(r.first_error_line(listing.name.empty() ? data.root() : listing.name));
  return listing;
}

}  // namespace rfm::dataset
