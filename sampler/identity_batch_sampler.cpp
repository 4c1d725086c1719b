#include "sampler/identity_batch_sampler.h"

#include <algorithm>
#include <string>

#include "dataset/seeded_random.h"

namespace rfm::sampler {
namespace {

// K distinct draws from `pool` (a partial Fisher-Yates shuffle of a copy),
// or K draws with replacement when the pool is smaller than K.
std::vector<int64_t> draw_images(const std::vector<int64_t>& pool, int64_t k, dataset::SeededRandom& rng) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(k));
  const auto n = static_cast<int64_t>(pool.size());
  if (n >= k) {
    std::vector<int64_t> copy = pool;
    for (int64_t i = 0; i < k; ++i) {
      const auto j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
      std::swap(copy[i], copy[j]);
      out.push_back(copy[i]);
    }
  } else {
    for (int64_t i = 0; i < k; ++i) out.push_back(pool[rng.below(static_cast<uint64_t>(n))]);
  }
  return out;
}

}  // namespace

IdentityBatchSampler::IdentityBatchSampler(std::vector<std::vector<int64_t>> visible,
                                           std::vector<std::vector<int64_t>> infrared,
                                           const IdentityBatchSamplerOptions& options, uint64_t dataset_fingerprint)
    : visible_(std::move(visible)), infrared_(std::move(infrared)), options_(options), fingerprint_(dataset_fingerprint) {
  if (options_.ids_per_batch < 1 || options_.per_modality < 1) {
    throw SamplerError("sampler: ids_per_batch and images_per_modality must be >= 1");
  }
  if (visible_.size() != infrared_.size()) throw SamplerError("sampler: visible and infrared identity lists differ in length");
  const auto identities = static_cast<int64_t>(visible_.size());
  if (identities < options_.ids_per_batch) {
    throw SamplerError("sampler: data.ids_per_batch = " + std::to_string(options_.ids_per_batch) + " but the training set has " +
                       std::to_string(identities) + " identities");
  }
  int64_t n_vis = 0, n_ir = 0;
  for (int64_t i = 0; i < identities; ++i) {
    if (visible_[i].empty() || infrared_[i].empty()) {
      throw SamplerError("sampler: identity label " + std::to_string(i) + " has no " +
                         (visible_[i].empty() ? "visible" : "infrared") + " images");
    }
    n_vis += static_cast<int64_t>(visible_[i].size());
    n_ir += static_cast<int64_t>(infrared_[i].size());
  }
  const int64_t per_batch = options_.ids_per_batch * options_.per_modality;
  batches_per_epoch_ = options_.batches_per_epoch > 0 ? options_.batches_per_epoch
                                                      : (std::max(n_vis, n_ir) + per_batch - 1) / per_batch;
}

GlobalBatch IdentityBatchSampler::global_batch(int64_t epoch, int64_t batch) const {
  dataset::SeededRandom rng(options_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(batch));
  const int64_t P = options_.ids_per_batch, K = options_.per_modality;
  GlobalBatch out;
  out.epoch = epoch;
  out.batch = batch;
  // P distinct identities: a partial shuffle of the labels.
  std::vector<int64_t> labels(visible_.size());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i);
  for (int64_t i = 0; i < P; ++i) {
    const auto j = i + static_cast<int64_t>(rng.below(labels.size() - static_cast<uint64_t>(i)));
    std::swap(labels[i], labels[j]);
    out.identities.push_back(labels[i]);
  }
  std::vector<std::vector<int64_t>> vis(P), ir(P);
  for (int64_t p = 0; p < P; ++p) {
    vis[p] = draw_images(visible_[out.identities[p]], K, rng);
    ir[p] = draw_images(infrared_[out.identities[p]], K, rng);
  }
  out.rows.resize(static_cast<size_t>(2 * P * K));
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t p = 0; p < P; ++p) {
      for (int m = 0; m < 2; ++m) {
        const int64_t row = (k * P + p) * 2 + m;
        out.rows[row] = {m == 0 ? vis[p][k] : ir[p][k], out.identities[p], m, row};
      }
    }
  }
  return out;
}

void IdentityBatchSampler::check_world_size(int world_size) const {
  if (world_size < 1 || batch_size() % world_size != 0) {
    throw SamplerError("sampler: world size " + std::to_string(world_size) + " cannot shard a global batch of " +
                       std::to_string(batch_size()) + " images (" + std::to_string(options_.ids_per_batch) + " x (" +
                       std::to_string(options_.per_modality) + "+" + std::to_string(options_.per_modality) +
                       ")) evenly; use a world size that divides " + std::to_string(batch_size()));
  }
}

std::vector<SampledImage> IdentityBatchSampler::shard(const GlobalBatch& batch, int rank, int world_size) const {
  check_world_size(world_size);
  if (rank < 0 || rank >= world_size) {
    throw SamplerError("sampler: rank " + std::to_string(rank) + " outside world size " + std::to_string(world_size));
  }
  const auto per_rank = static_cast<int64_t>(batch.rows.size()) / world_size;
  return {batch.rows.begin() + rank * per_rank, batch.rows.begin() + (rank + 1) * per_rank};
}

sampler::SamplerState IdentityBatchSampler::state_at_step(int64_t step) const {
  sampler::SamplerState s;
  s.set_seed(options_.seed);
  s.set_epoch(step / batches_per_epoch_);
  s.set_next_batch(step % batches_per_epoch_);
  s.set_ids_per_batch(static_cast<int32_t>(options_.ids_per_batch));
  s.set_images_per_modality(static_cast<int32_t>(options_.per_modality));
  s.set_dataset_fingerprint(fingerprint_);
  return s;
}

int64_t IdentityBatchSampler::step_of(const sampler::SamplerState& s) const {
  auto mismatch = [](const std::string& what, const std::string& saved, const std::string& now) {
    return SamplerError("sampler: the checkpoint's " + what + " is " + saved + ", this run's is " + now +
                        "; its batches cannot be resumed");
  };
  if (s.seed() != options_.seed) throw mismatch("seed", std::to_string(s.seed()), std::to_string(options_.seed));
  if (s.ids_per_batch() != options_.ids_per_batch || s.images_per_modality() != options_.per_modality) {
    throw mismatch("batch shape", std::to_string(s.ids_per_batch()) + "x" + std::to_string(s.images_per_modality()),
                   std::to_string(options_.ids_per_batch) + "x" + std::to_string(options_.per_modality));
  }
  if (s.dataset_fingerprint() != fingerprint_) {
    throw mismatch("training-set fingerprint", std::to_string(s.dataset_fingerprint()), std::to_string(fingerprint_));
  }
  if (s.epoch() < 0 || s.next_batch() < 0 || s.next_batch() >= batches_per_epoch_) {
    throw SamplerError("sampler: checkpoint position epoch " + std::to_string(s.epoch()) + " batch " +
                       std::to_string(s.next_batch()) + " is outside an epoch of " + std::to_string(batches_per_epoch_) +
                       " batches");
  }
  return s.epoch() * batches_per_epoch_ + s.next_batch();
}

}  // namespace rfm::sampler
