#include <gtest/gtest.h>

#include "proto/config_loader.h"
#include "trainer/engine/lr_schedule.h"
#include "trainer/engine/random_identity_batches.h"
#include "trainer/engine/trainer.h"
#include "trainer/model/rfm_model.h"
#include "trainer/process/worker_resources.h"

using namespace rfm::model;

namespace {

RfmModelOptions small(AttentionKind attention) {
  return RfmModelOptions(18, 10).num_parts(4).part_dim(16).attention(attention);
}

rfm::engine::RandomIdentityOptions identities(int64_t count, int64_t height, int64_t width, int64_t p, int64_t k) {
  rfm::engine::RandomIdentityOptions o;
  o.num_identities = count;
  o.height = height;
  o.width = width;
  o.ids_per_batch = p;
  o.per_modality = k;
  return o;
}

}  // namespace

TEST(Model, OutputShapesForEveryAttention) {
  torch::manual_seed(0);
  auto images = torch::randn({6, 3, 64, 32});
  auto modality = torch::tensor({0, 0, 0, 1, 1, 1}, torch::kInt64);
  for (auto attention : {AttentionKind::kNone, AttentionKind::kModalityAware, AttentionKind::kSpatial}) {
    RfmModel m(small(attention));
    auto out = m->forward(images, modality);
    EXPECT_EQ(out.metric_features.sizes(), torch::IntArrayRef({6, 4, 16}));
    EXPECT_EQ(out.part_logits.sizes(), torch::IntArrayRef({4, 6, 10}));
    EXPECT_EQ(out.embedding.sizes(), torch::IntArrayRef({6, 64}));
    EXPECT_EQ(out.visible_logits.defined(), attention == AttentionKind::kModalityAware);
  }
  RfmModel mam(small(AttentionKind::kModalityAware));
  auto out = mam->forward(images, modality);
  EXPECT_EQ(out.visible_logits.sizes(), torch::IntArrayRef({3, 10}));
  EXPECT_EQ(out.attention.sizes(), torch::IntArrayRef({6, 1, 4, 2}));  // block-3 grid of 64x32
  EXPECT_GT(out.attention.min().item<float>(), 0.0f);
  EXPECT_LT(out.attention.max().item<float>(), 1.0f);
  EXPECT_FALSE(mam->backbone->layer4);  // the block-3 reading needs no shared layer4
}

TEST(Model, MamReweightsTheChosenFeature) {
  torch::manual_seed(1);
  auto images = torch::randn({4, 3, 64, 32});
  auto modality = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  RfmModel plain(small(AttentionKind::kModalityAware));
  plain->eval();
  ModalityAttentionOutput mam_out;
  auto reweighted = plain->part_feature_map(images, modality, &mam_out);
  auto block3 = plain->backbone->forward_to_layer3(images);
  EXPECT_TRUE(torch::allclose(reweighted, block3 * mam_out.attention, 1e-5, 1e-6));
  // Visible rows take the visible stage's map.
  auto expected = torch::sigmoid(plain->mam->visible_stage->forward(block3.index_select(0, torch::tensor({0, 2}))).mean(1, true));
  EXPECT_TRUE(torch::allclose(mam_out.attention.index_select(0, torch::tensor({0, 2})), expected, 1e-5, 1e-6));

  RfmModel residual(small(AttentionKind::kModalityAware).reweighting(Reweighting::kResidual).part_source(PartSource::kSharedBlock4));
  residual->eval();
  auto f = residual->part_feature_map(images, modality, &mam_out);
  auto block4 = residual->backbone->layer4->forward(residual->backbone->forward_to_layer3(images));
  EXPECT_TRUE(torch::allclose(f, block4 * (1 + mam_out.attention), 1e-5, 1e-6));
}

TEST(Model, ModalityStagesStartEqual) {
  RfmModel m(small(AttentionKind::kModalityAware));
  auto v = m->mam->visible_stage->named_parameters();
  for (auto& p : m->mam->infrared_stage->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), v[p.key()]));
}

TEST(Model, PcbPartsAreStripeMeans) {
  torch::manual_seed(2);
  PcbHead head(PcbHeadOptions(8, 5).num_parts(3).part_dim(4));
  head->eval();
  auto feature = torch::randn({2, 8, 6, 3});
  auto out = head->forward(feature);
  auto stripe = feature.narrow(2, 2, 2).mean({2, 3});  // part 1: rows 2-3
  auto fc = head->named_parameters()["reducers.1.weight"];
  EXPECT_TRUE(torch::allclose(out.reduced.select(1, 1), stripe.matmul(fc.t()), 1e-5, 1e-6));
  EXPECT_THROW(head->forward(torch::randn({2, 8, 5, 3})), std::invalid_argument);
}

TEST(Model, PretrainedTargetsMapLayer4IntoModalityStages) {
  RfmModel mam(small(AttentionKind::kModalityAware));
  EXPECT_EQ(mam->pretrained_targets("layer4.0.conv1.weight"),
            (std::vector<std::string>{"mam.visible_stage.0.conv1.weight", "mam.infrared_stage.0.conv1.weight"}));
  EXPECT_EQ(mam->pretrained_targets("layer1.0.bn1.running_mean"),
            (std::vector<std::string>{"backbone.layer1.0.bn1.running_mean"}));
  EXPECT_TRUE(mam->pretrained_targets("fc.weight").empty());
  RfmModel shared(small(AttentionKind::kModalityAware).part_source(PartSource::kSharedBlock4));
  EXPECT_EQ(shared->pretrained_targets("layer4.1.bn2.weight").size(), 3u);
}

TEST(Schedule, StepsAndWarmup) {
  rfm::engine::LrSchedule s;
  s.base_lr = 0.03;
  s.milestones = {40, 70};
  EXPECT_DOUBLE_EQ(s.at(0), 0.03);
  EXPECT_DOUBLE_EQ(s.at(39.99), 0.03);
  EXPECT_NEAR(s.at(40), 0.003, 1e-15);
  EXPECT_NEAR(s.at(70), 0.0003, 1e-15);
  s.warmup_epochs = 10;
  EXPECT_NEAR(s.at(0), 0.003, 1e-15);
  EXPECT_NEAR(s.at(5), 0.03 * 0.55, 1e-15);
  EXPECT_DOUBLE_EQ(s.at(10), 0.03);
}

TEST(RandomIdentities, BatchCompositionAndDeterminism) {
  rfm::engine::RandomIdentityBatches batches(identities(12, 32, 16, 3, 2));
  auto b = batches.batch(5);
  EXPECT_EQ(b.images.sizes(), torch::IntArrayRef({12, 3, 32, 16}));
  EXPECT_EQ(std::get<0>(torch::_unique(b.labels)).numel(), 3);
  EXPECT_EQ(b.modality.sum().item<int64_t>(), 6);
  EXPECT_TRUE(torch::equal(b.images, batches.batch(5).images));
  EXPECT_FALSE(torch::equal(b.images, batches.batch(6).images));
  // Infrared images are grey: the three channels are equal (up to noise).
  auto ir = batches.image(3, 1, 0);
  EXPECT_LT((ir[0] - ir[1]).abs().mean().item<float>(), 0.1f);
  EXPECT_EQ(batches.steps_per_epoch(), (12 * 4 + 5) / 6);
}

TEST(Training, LossFallsOnAFixedBatch) {
  auto config = rfm::config::load_run_config(
      "", {"model.depth=18", "model.num_parts=2", "model.part_dim=32", "model.num_classes=4", "data.height=64",
           "data.width=32", "data.ids_per_batch=4", "data.images_per_modality=2", "optimizer.lr=0.05",
           "ltg.enabled=false", "train.threads=2"});
  rfm::process::configure_threads(2);
  torch::manual_seed(0);
  const auto batch = rfm::engine::RandomIdentityBatches(identities(4, 64, 32, 4, 2)).batch(0);
  rfm::engine::Trainer trainer(config, torch::kCPU, nullptr);
  std::vector<double> losses;
  for (int s = 0; s < 8; ++s) losses.push_back(trainer.step(batch, s, 0.0).loss[rfm::loss::kTotalLoss]);
  EXPECT_LT(losses.back(), 0.6 * losses.front()) << losses.front() << " -> " << losses.back();
}

TEST(Training, NonFiniteLossStopsTheStep) {
  auto config = rfm::config::load_run_config(
      "", {"model.depth=18", "model.num_parts=2", "model.part_dim=8", "model.num_classes=4", "data.height=64",
           "data.width=32", "data.ids_per_batch=2", "data.images_per_modality=2", "ltg.enabled=false"});
  rfm::engine::Trainer trainer(config, torch::kCPU, nullptr);
  rfm::engine::TrainBatch batch{torch::full({8, 3, 64, 32}, std::nan("")), torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}),
                                torch::tensor({0, 0, 1, 1, 0, 0, 1, 1}), torch::Tensor()};
  try {
    trainer.step(batch, 17, 0.0);
    FAIL() << "expected NonFiniteLossError";
  } catch (const rfm::engine::NonFiniteLossError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("step 17: non-finite loss", 0), 0u) << e.what();
  }
}

TEST(Training, LtgOfAShardEqualsLtgOfTheWholeBatch) {
  auto config = rfm::config::load_run_config(
      "", {"model.depth=18", "model.num_parts=2", "model.part_dim=8", "model.num_classes=4", "data.height=64",
           "data.width=32", "data.ids_per_batch=2", "data.images_per_modality=2", "ltg.probability=1"});
  rfm::engine::Trainer trainer(config, torch::kCPU, nullptr);
  rfm::engine::TrainBatch whole{torch::rand({8, 3, 64, 32}), torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}),
                                torch::tensor({0, 0, 1, 1, 0, 0, 1, 1}), torch::Tensor()};
  torch::Tensor rectangles;
  const auto input = whole.images.clone();
  auto full = trainer.augment(whole, whole.images, /*owned=*/false, 4, &rectangles);
  EXPECT_GT(rectangles.item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(whole.images, input));  // not ours: left as it was
  auto rows = torch::tensor({5, 2, 7});
  rfm::engine::TrainBatch shard{whole.images.index_select(0, rows), whole.labels.index_select(0, rows),
                                whole.modality.index_select(0, rows), rows};
  // Owned: transformed in place, to the same pixels.
  auto owned = shard.images.clone();
  auto part = trainer.augment(shard, owned, /*owned=*/true, 4, &rectangles);
  EXPECT_EQ(part.data_ptr(), owned.data_ptr());
  EXPECT_TRUE(torch::equal(part, full.index_select(0, rows)));
  EXPECT_FALSE(torch::equal(part, trainer.augment(shard, shard.images, false, 5, &rectangles)));  // steps differ
}
