#include "trainer/run/random_identity_batch_source.h"

#include "proto/config_loader.h"

namespace rfm::run {

RandomIdentityBatchSource::RandomIdentityBatchSource(const engine::RandomIdentityOptions& options,
                                                     int64_t steps_per_epoch, const comm::ProcessPlacement& placement)
    : batches_(options),
      steps_per_epoch_(steps_per_epoch > 0 ? steps_per_epoch : batches_.steps_per_epoch()),
      placement_(placement) {
  const int64_t global = 2 * options.ids_per_batch * options.per_modality;
  if (global % placement.world_size != 0) {
    throw config::ConfigError("data: a global batch of " + std::to_string(global) + " images cannot be split over " +
                              std::to_string(placement.world_size) + " ranks; use a world size that divides it");
  }
}

loader::TrainBatch RandomIdentityBatchSource::next(int64_t step) {
  auto b = batches_.batch(step);
  const int world = placement_.world_size;
  if (world == 1) return b;
  const int64_t per = b.images.size(0) / world;
  const int rank = placement_.rank;
  const auto rows = torch::arange(rank * per, (rank + 1) * per, torch::kInt64);
  return loader::TrainBatch{b.images.index_select(0, rows), b.labels.index_select(0, rows),
                            b.modality.index_select(0, rows), rows};
}

}  // namespace rfm::run
