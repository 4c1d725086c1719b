#pragma once
// The identity-balanced distributed sampler.  A global batch is P
// identities x (K visible + K infrared) images; batch b of epoch e is a pure
// function of (seed, e, b), so every rank computes the same plan without
// communicating and takes its shard, and a resumed run draws exactly the
// batches the interrupted one would have.
//
// Within a batch the P identities are distinct; an identity's K images of a
// modality are distinct when it has at least K of them and drawn with
// replacement otherwise.  An epoch is max(#visible, #infrared) / (P * K)
// batches, rounded up (the reference code's length).
//
// Shards: the batch is laid out slot-major, row = (k * P + p) * 2 + m for
// slot k < K, identity p < P, modality m, and rank r of W takes rows
// [r * 2PK / W, (r + 1) * 2PK / W).  Every rank gets the same number of
// images; when W divides K each rank gets K / W images of every identity in
// both modalities.  A world size that does not divide 2PK is refused.

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "sampler_state.pb.h"

namespace rfm::sampler {

struct IdentityBatchSamplerOptions {
  int64_t ids_per_batch = 7;  // P
  int64_t per_modality = 8;   // K
  uint64_t seed = 1;
  // Batches per epoch; 0: max(#visible, #infrared) / (P * K), rounded up.
  int64_t batches_per_epoch = 0;
};

struct SampledImage {
  int64_t image = 0;       // index into the training set's images
  int64_t label = 0;       // dense identity label
  int modality = 0;        // 0 visible, 1 infrared
  int64_t global_row = 0;  // row in the global batch
};

struct GlobalBatch {
  int64_t epoch = 0;
  int64_t batch = 0;
  std::vector<int64_t> identities;  // the P labels, in draw order
  std::vector<SampledImage> rows;   // 2PK rows in global-row order
};

class SamplerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class IdentityBatchSampler {
 public:
  // visible[label] / infrared[label]: the image indices of each identity.
  IdentityBatchSampler(std::vector<std::vector<int64_t>> visible, std::vector<std::vector<int64_t>> infrared,
                       const IdentityBatchSamplerOptions& options, uint64_t dataset_fingerprint = 0);

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t batch_size() const { return 2 * options_.ids_per_batch * options_.per_modality; }
  GlobalBatch global_batch(int64_t epoch, int64_t batch) const;
  // Batch number `step` counted from epoch 0, batch 0.
  GlobalBatch at_step(int64_t step) const {
    return global_batch(step / batches_per_epoch_, step % batches_per_epoch_);
  }

  // Rank `rank`'s rows of `batch`; SamplerError when world_size does not
  // divide the batch.
  std::vector<SampledImage> shard(const GlobalBatch& batch, int rank, int world_size) const;
  void check_world_size(int world_size) const;

  // The sampler's position for checkpoints: the next batch to hand out.
  sampler::SamplerState state_at_step(int64_t step) const;
  // The step a saved state resumes at; SamplerError when the state belongs
  // to another seed, batch shape or training set.
  int64_t step_of(const sampler::SamplerState& state) const;

 private:
  std::vector<std::vector<int64_t>> visible_, infrared_;
  IdentityBatchSamplerOptions options_;
  uint64_t fingerprint_;
  int64_t batches_per_epoch_ = 1;
};

}  // namespace rfm::sampler
