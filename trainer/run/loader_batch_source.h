#pragma once
// A dataset's batches through the prefetching loader: the sampler shards the
// global batch, and its position goes into checkpoints.

#include "loader/training_data.h"
#include "trainer/run/batch_source.h"

namespace rfm::run {

class LoaderBatchSource : public BatchSource {
 public:
  explicit LoaderBatchSource(loader::TrainingData data) : data_(std::move(data)) {}

  int64_t steps_per_epoch() const override { return data_.sampler->batches_per_epoch(); }
  void start(int64_t first_step) override { data_.loader->start(first_step); }
  loader::TrainBatch next(int64_t step) override;
  std::string position_after(int64_t steps_done) const override;
  void check_resume_position(const std::string& position, int64_t steps_done,
                             const std::string& checkpoint) const override;

  const dataset::TrainingSet& training_set() const { return *data_.set; }

 private:
  loader::TrainingData data_;
};

}  // namespace rfm::run
