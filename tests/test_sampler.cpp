// The identity-balanced distributed sampler: composition, replacement,
// determinism, shards, resume.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sampler/identity_batch_sampler.h"

namespace rfm::sampler {
namespace {

// 10 identities; identity i has 3 + i visible and 12 - i infrared images
// (identity 9 has 3 infrared: fewer than K = 4).  Visible images are
// numbered from 0, infrared from 1000.
struct Pools {
  std::vector<std::vector<int64_t>> visible, infrared;
  Pools() {
    int64_t v = 0, r = 1000;
    for (int i = 0; i < 10; ++i) {
      visible.emplace_back();
      infrared.emplace_back();
      for (int k = 0; k < 3 + i; ++k) visible.back().push_back(v++);
      for (int k = 0; k < 12 - i; ++k) infrared.back().push_back(r++);
    }
  }
};

IdentityBatchSampler make(int64_t P = 3, int64_t K = 4, uint64_t seed = 5) {
  Pools p;
  IdentityBatchSamplerOptions o;
  o.ids_per_batch = P;
  o.per_modality = K;
  o.seed = seed;
  return IdentityBatchSampler(p.visible, p.infrared, o, 77);
}

TEST(IdentityBatchSampler, EpochLengthIsTheReferenceCodes) {
  // #visible = 3+...+12 = 75, #infrared = 12+...+3 = 75: ceil(75 / 12) = 7.
  EXPECT_EQ(make().batches_per_epoch(), 7);
  EXPECT_EQ(make(2, 8).batches_per_epoch(), 5);  // ceil(75 / 16)
}

TEST(IdentityBatchSampler, BatchHasPDistinctIdentitiesWithKPlusKImages) {
  const auto s = make();
  const Pools pools;
  for (int64_t b = 0; b < 20; ++b) {
    const auto batch = s.global_batch(b / 7, b % 7);
    ASSERT_EQ(batch.identities.size(), 3u);
    EXPECT_EQ(std::set<int64_t>(batch.identities.begin(), batch.identities.end()).size(), 3u);
    ASSERT_EQ(batch.rows.size(), 24u);
    std::map<std::pair<int64_t, int>, std::vector<int64_t>> images;
    for (size_t row = 0; row < batch.rows.size(); ++row) {
      const auto& r = batch.rows[row];
      EXPECT_EQ(r.global_row, static_cast<int64_t>(row));
      const auto& pool = (r.modality == 0 ? pools.visible : pools.infrared)[r.label];
      EXPECT_NE(std::find(pool.begin(), pool.end(), r.image), pool.end()) << "image of another identity";
      images[{r.label, r.modality}].push_back(r.image);
    }
    ASSERT_EQ(images.size(), 6u);
    for (const auto& [key, list] : images) {
      EXPECT_EQ(list.size(), 4u);
      const auto pool_size = (key.second == 0 ? pools.visible : pools.infrared)[key.first].size();
      // Distinct when the pool is large enough, replacement otherwise.
      if (pool_size >= 4) {
        EXPECT_EQ(std::set<int64_t>(list.begin(), list.end()).size(), 4u);
      }
    }
  }
}

TEST(IdentityBatchSampler, IdentityWithFewImagesIsSampledWithReplacement) {
  Pools p;
  p.infrared[0] = {4242};  // one infrared image, K = 4
  IdentityBatchSamplerOptions o;
  o.ids_per_batch = 10;  // every identity in every batch
  o.per_modality = 4;
  IdentityBatchSampler s(p.visible, p.infrared, o);
  const auto batch = s.global_batch(0, 0);
  int copies = 0;
  for (const auto& r : batch.rows) copies += r.image == 4242;
  EXPECT_EQ(copies, 4);
}

TEST(IdentityBatchSampler, PlanIsAPureFunctionOfSeedEpochAndBatch) {
  const auto a = make(), b = make();
  for (int64_t e = 0; e < 3; ++e) {
    for (int64_t i = 0; i < 7; ++i) {
      const auto x = a.global_batch(e, i), y = b.global_batch(e, i);
      ASSERT_EQ(x.identities, y.identities);
      for (size_t r = 0; r < x.rows.size(); ++r) ASSERT_EQ(x.rows[r].image, y.rows[r].image);
    }
  }
  EXPECT_NE(a.global_batch(0, 0).identities, a.global_batch(1, 0).identities);
  const auto other_seed = make(3, 4, 6);
  int same = 0;
  for (int64_t i = 0; i < 7; ++i) same += other_seed.global_batch(0, i).identities == a.global_batch(0, i).identities;
  EXPECT_LT(same, 3);
}

TEST(IdentityBatchSampler, ShardsAreDisjointBalancedAndCoverTheBatch) {
  const auto s = make(3, 4);
  const auto batch = s.global_batch(2, 3);
  for (int world : {1, 2, 3, 4, 6, 8, 12, 24}) {
    std::vector<int64_t> rows;
    for (int rank = 0; rank < world; ++rank) {
      const auto shard = s.shard(batch, rank, world);
      ASSERT_EQ(shard.size(), 24u / world);
      for (const auto& r : shard) rows.push_back(r.global_row);
      if (4 % world == 0) {  // W divides K: every identity in both modalities
        std::set<std::pair<int64_t, int>> seen;
        for (const auto& r : shard) seen.insert({r.label, r.modality});
        EXPECT_EQ(seen.size(), 6u) << "world " << world << " rank " << rank;
      }
    }
    // Concatenated in rank order, the shards are the world-size-1 batch.
    std::vector<int64_t> expected(24);
    for (int64_t i = 0; i < 24; ++i) expected[i] = i;
    EXPECT_EQ(rows, expected) << "world " << world;
  }
}

TEST(IdentityBatchSampler, WorldSizeThatCannotShardIsRefused) {
  const auto s = make(3, 4);
  const auto batch = s.global_batch(0, 0);
  try {
    s.shard(batch, 0, 5);
    FAIL();
  } catch (const SamplerError& e) {
    EXPECT_NE(std::string(e.what()).find("world size 5 cannot shard a global batch of 24"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.shard(batch, 2, 2), SamplerError);
  EXPECT_THROW(make(11, 4), SamplerError);  // more identities per batch than the set has
}

TEST(IdentityBatchSampler, StateRoundTripsThroughItsProtoAndResumesMidEpoch) {
  const auto s = make();
  const auto state = s.state_at_step(17);  // epoch 2, batch 3
  EXPECT_EQ(state.epoch(), 2);
  EXPECT_EQ(state.next_batch(), 3);
  std::string bytes;
  state.SerializeToString(&bytes);
  sampler::SamplerState restored;
  ASSERT_TRUE(restored.ParseFromString(bytes));
  const auto resumed = make();  // a new process
  const int64_t step = resumed.step_of(restored);
  EXPECT_EQ(step, 17);
  for (int64_t k = 0; k < 10; ++k) {
    EXPECT_EQ(resumed.at_step(step + k).identities, s.at_step(17 + k).identities);
  }
  EXPECT_THROW(make(3, 4, 9).step_of(restored), SamplerError);  // other seed
  EXPECT_THROW(make(2, 4).step_of(restored), SamplerError);     // other batch shape
  Pools p;
  p.visible[0].push_back(999);
  IdentityBatchSamplerOptions o;
  o.ids_per_batch = 3;
  o.per_modality = 4;
  o.seed = 5;
  EXPECT_THROW(IdentityBatchSampler(p.visible, p.infrared, o, 78).step_of(restored), SamplerError);
}

}  // namespace
}  // namespace rfm::sampler
