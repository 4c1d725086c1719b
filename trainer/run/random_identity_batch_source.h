#pragma once
// The in-memory random identities as a batch source: every rank draws the
// whole global batch (a pure function of the step) and keeps its contiguous
// share of rows, as the sampler's shard() does for datasets.

#include "comm/process_placement.h"
#include "trainer/engine/random_identity_batches.h"
#include "trainer/run/batch_source.h"

namespace rfm::run {

class RandomIdentityBatchSource : public BatchSource {
 public:
  // Throws config::ConfigError when the world size does not divide the
  // global batch.
  RandomIdentityBatchSource(const engine::RandomIdentityOptions& options, int64_t steps_per_epoch,
                            const comm::ProcessPlacement& placement);

  int64_t steps_per_epoch() const override { return steps_per_epoch_; }
  void start(int64_t /*first_step*/) override {}
  loader::TrainBatch next(int64_t step) override;
  std::string position_after(int64_t /*steps_done*/) const override { return {}; }
  void check_resume_position(const std::string&, int64_t, const std::string&) const override {}

 private:
  engine::RandomIdentityBatches batches_;
  int64_t steps_per_epoch_;
  comm::ProcessPlacement placement_;
};

}  // namespace rfm::run
