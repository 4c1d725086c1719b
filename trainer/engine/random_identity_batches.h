#pragma once
// Batches of random identities made in memory (no files): the training data
// of this stage's main job and of the tests.  Each identity has a coarse
// random colour layout; its visible images render it in RGB, its infrared
// images as one grey channel with identity-specific channel weights (a
// different linear factor per "material"), replicated to three channels.
// Every image is a pure function of (seed, identity, modality, index).

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "loader/train_batch.h"

namespace rfm::engine {

using TrainBatch = loader::TrainBatch;

struct RandomIdentityOptions {
  int64_t num_identities = 395;
  int64_t images_per_identity = 4;  // per modality
  int64_t height = 384, width = 192;
  int64_t ids_per_batch = 7;        // P
  int64_t per_modality = 8;         // K
  uint64_t seed = 1;
  bool horizontal_flip = true;
};

class RandomIdentityBatches {
 public:
  explicit RandomIdentityBatches(const RandomIdentityOptions& options);
  // P distinct identities x (K visible + K infrared), deterministic in step.
  TrainBatch batch(int64_t step) const;
  torch::Tensor image(int64_t identity, int64_t modality, int64_t index) const;
  // Batches per epoch: max(#visible, #infrared) / (P * K), rounded up.
  int64_t steps_per_epoch() const;

 private:
  RandomIdentityOptions options_;
};

}  // namespace rfm::engine
