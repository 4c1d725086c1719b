#pragma once
// From a run configuration to this rank's stream of training batches: the
// dataset listed and checked, the pack built (when configured and absent),
// opened and checked for staleness, the training split, the sampler and the
// prefetching loader.  Every problem is a DatasetError (or ConfigError)
// with one line naming the file or field.

#include <memory>
#include <ostream>
#include <string>

#include "dataset/training_set.h"
#include "dataset/validation_report.h"
#include "loader/batch_loader.h"
#include "rfm_config.pb.h"

namespace rfm::loader {

struct TrainingData {
  std::shared_ptr<const dataset::TrainingSet> set;
  std::shared_ptr<const ImageStore> store;
  std::shared_ptr<const sampler::IdentityBatchSampler> sampler;
  std::unique_ptr<DistributedBatchLoader> loader;
  dataset::ValidationReport report;
};

// `pin_memory`: the caller's device is CUDA and data.pin_memory is set.
TrainingData open_training_data(const config::RunConfig& config, int rank, int world_size, bool pin_memory,
                                std::ostream& log);

// `rfm pack`: (re)builds data.pack from the dataset; returns the report.
dataset::ValidationReport build_pack(const config::RunConfig& config, std::ostream& log);

}  // namespace rfm::loader
