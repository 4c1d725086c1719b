#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <unordered_set>

#include "proto/config_loader.h"
#include "trainer/model/autocast_scope.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/kernels/conv3x3_policy.h"
#include "trainer/kernels/winograd_conv.h"
#include "trainer/model/rfm_model.h"

using rfm::kernels::Conv3x3Policy;
using rfm::kernels::winograd_applicable;
using rfm::kernels::winograd_conv3x3;
using rfm::kernels::WinogradTile;

namespace {

// The direct convolution in float64: the reference both float32 paths are
// compared with.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w) {
  return torch::conv2d(x.to(torch::kDouble), w.to(torch::kDouble), {}, 1, 1);
}

double max_relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  const auto w = want.to(torch::kDouble);
  return ((got.to(torch::kDouble) - w).abs().max() / w.abs().max().clamp_min(1e-12)).item<double>();
}

// How many nodes of a type whose name contains `name` the autograd graph
// below `root` holds.
int count_nodes(const torch::Tensor& root, const std::string& name) {
  std::unordered_set<torch::autograd::Node*> seen;
  int count = 0;
  std::function<void(torch::autograd::Node*)> visit = [&](torch::autograd::Node* node) {
    if (node == nullptr || !seen.insert(node).second) return;
    if (node->name().find(name) != std::string::npos) ++count;
    for (const auto& edge : node->next_edges()) visit(edge.function.get());
  };
  visit(root.grad_fn().get());
  return count;
}

}  // namespace

TEST(WinogradConv, HandComputedTwoByTwo) {
  // One 2x2 map, one filter.  A filter with its only 1 at the top-left tap
  // reads the pixel up and to the left (zero outside the map); the all-ones
  // filter sums every pixel of the 2x2 map into each output.  For F(4x4)
  // the map is a corner of one tile, the rest of it cut off.
  for (const WinogradTile tile : {WinogradTile::k2x2, WinogradTile::k4x4}) {
    SCOPED_TRACE(static_cast<int>(tile));
    auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 2, 2});
    auto corner = torch::zeros({1, 1, 3, 3});
    corner[0][0][0][0] = 1.0f;
    auto y = winograd_conv3x3(x, corner, tile);
    EXPECT_TRUE(torch::allclose(y, torch::tensor({0.0f, 0.0f, 0.0f, 1.0f}).view({1, 1, 2, 2}), 0.0, 1e-6)) << y;
    auto sum = winograd_conv3x3(x, torch::ones({1, 1, 3, 3}), tile);
    EXPECT_TRUE(torch::allclose(sum, torch::full({1, 1, 2, 2}, 10.0f), 0.0, 1e-5)) << sum;
    // The weight gradient of sum(y) for the all-ones filter: tap (a, b) sums
    // the pixels it reads over the four outputs.  The centre tap reads all
    // four (10); the top-left tap only x[0][0] (for output (1, 1)).
    auto w = torch::ones({1, 1, 3, 3}).requires_grad_();
    winograd_conv3x3(x, w, tile).sum().backward();
    auto want = torch::tensor({1.0f, 3.0f, 2.0f, 4.0f, 10.0f, 6.0f, 3.0f, 7.0f, 4.0f}).view({1, 1, 3, 3});
    EXPECT_TRUE(torch::allclose(w.grad(), want, 0.0, 1e-5)) << w.grad();
  }
}

TEST(WinogradConv, AutoTakesFourByFourForWideProducts) {
  // Columns of F(4x4)'s products: images x ceil(H/4) x ceil(W/4).
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(16, 8, 4), WinogradTile::k2x2);   // 32: ResNet-18's layer4 copies
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(32, 8, 4), WinogradTile::k4x4);   // 64
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(31, 8, 4), WinogradTile::k2x2);   // 62
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(4, 24, 12), WinogradTile::k4x4);  // 72
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(3, 9, 13), WinogradTile::k2x2);   // 3 x 3 x 4 = 36
  EXPECT_EQ(rfm::kernels::winograd_auto_tile(6, 9, 13), WinogradTile::k4x4);   // 72
  // What kAuto computes is what the tile it names computes, bit for bit.
  torch::manual_seed(11);
  const auto w = torch::randn({4, 3, 3, 3});
  for (const int64_t n : {1, 8}) {
    const auto x = torch::randn({n, 3, 16, 16});  // 16 columns per image
    const auto tile = rfm::kernels::winograd_auto_tile(n, 16, 16);
    EXPECT_EQ(tile, n == 1 ? WinogradTile::k2x2 : WinogradTile::k4x4);
    EXPECT_TRUE(torch::equal(winograd_conv3x3(x, w), winograd_conv3x3(x, w, tile))) << n;
    const auto other = tile == WinogradTile::k2x2 ? WinogradTile::k4x4 : WinogradTile::k2x2;
    EXPECT_FALSE(torch::equal(winograd_conv3x3(x, w), winograd_conv3x3(x, w, other))) << n;
  }
}

TEST(WinogradConv, LoopsRunOnEveryIntraOpThread) {
  // Built without OpenMP, at::parallel_for in winograd_conv.cpp would run
  // the transforms on the calling thread alone while the others spin.
  const int previous_threads = torch::get_num_threads();
  torch::set_num_threads(1);
  EXPECT_EQ(rfm::kernels::winograd_loop_threads(), 1);
  torch::set_num_threads(2);
  EXPECT_EQ(rfm::kernels::winograd_loop_threads(), 2);
  torch::set_num_threads(previous_threads);
}

TEST(WinogradConv, MatchesTheDirectConvolutionAndItsGradients) {
  struct Shape {
    int64_t n, c, k, h, w;
  };
  // Maps that are and are not multiples of either tile, maps of one row or
  // column, one channel in or out, and channel counts whose matrices are
  // powers of two apart.  One thread, two (each takes whole products) and
  // five (every product split over all threads; 5 divides neither 16 nor
  // 36).  F(4x4)'s larger constants round more (winograd_conv.h).  Float64
  // (the parity test's precision) to 1e-12.
  struct Case {
    WinogradTile tile;
    torch::ScalarType dtype;
    double tolerance;
  };
  const int previous_threads = torch::get_num_threads();
  for (const auto& [tile, dtype, tolerance] :
       {Case{WinogradTile::k2x2, torch::kFloat, 1e-5}, Case{WinogradTile::k4x4, torch::kFloat, 5e-5},
        Case{WinogradTile::k2x2, torch::kDouble, 1e-12}, Case{WinogradTile::k4x4, torch::kDouble, 1e-12}}) {
    for (const int threads : {1, 2, 5}) {
      for (const Shape s : {Shape{2, 3, 4, 6, 5}, Shape{1, 5, 7, 7, 7}, Shape{3, 16, 8, 8, 4}, Shape{2, 1, 1, 2, 2},
                            Shape{2, 4, 3, 1, 6}, Shape{1, 2, 5, 5, 1}, Shape{2, 32, 64, 8, 4},
                            Shape{1, 6, 5, 9, 10}}) {
        torch::set_num_threads(threads);
        SCOPED_TRACE(c10::str("F(", static_cast<int>(tile), "), ", dtype, ", ", threads, " threads, ", s.n, "x", s.c,
                              "->", s.k, " ", s.h, "x", s.w));
        torch::manual_seed(s.n * 1000 + s.c * 10 + s.k);
        auto x = torch::randn({s.n, s.c, s.h, s.w}, dtype).requires_grad_();
        auto w = (torch::randn({s.k, s.c, 3, 3}, dtype) * 0.3).requires_grad_();
        auto dy = torch::randn({s.n, s.k, s.h, s.w}, dtype);
        auto y = winograd_conv3x3(x, w, tile);
        y.backward(dy);
        auto xd = x.detach().to(torch::kDouble).requires_grad_();
        auto wd = w.detach().to(torch::kDouble).requires_grad_();
        reference(xd, wd).backward(dy.to(torch::kDouble));
        ASSERT_EQ(y.sizes(), torch::IntArrayRef({s.n, s.k, s.h, s.w}));
        EXPECT_LT(max_relative_error(y, reference(x.detach(), w.detach())), tolerance);
        EXPECT_LT(max_relative_error(x.grad(), xd.grad()), tolerance);
        EXPECT_LT(max_relative_error(w.grad(), wd.grad()), tolerance);
      }
    }
  }
  torch::set_num_threads(previous_threads);
}

TEST(WinogradConv, GivesOnlyTheGradientsAskedFor) {
  torch::manual_seed(3);
  auto x = torch::randn({2, 6, 4, 4}).requires_grad_();
  auto frozen = torch::randn({5, 6, 3, 3});
  winograd_conv3x3(x, frozen).sum().backward();
  auto xd = x.detach().to(torch::kDouble).requires_grad_();
  reference(xd, frozen).sum().backward();
  EXPECT_LT(max_relative_error(x.grad(), xd.grad()), 1e-5);

  auto data = torch::randn({2, 6, 4, 4});
  auto w = torch::randn({5, 6, 3, 3}).requires_grad_();
  winograd_conv3x3(data, w).sum().backward();
  auto wd = w.detach().to(torch::kDouble).requires_grad_();
  reference(data, wd).sum().backward();
  EXPECT_LT(max_relative_error(w.grad(), wd.grad()), 1e-5);
}

TEST(WinogradConv, RejectsWhatItCannotCompute) {
  EXPECT_THROW(winograd_conv3x3(torch::randn({1, 2, 4, 4}), torch::randn({3, 2, 5, 5})), std::invalid_argument);
  EXPECT_THROW(winograd_conv3x3(torch::randn({1, 2, 4, 4}), torch::randn({3, 4, 3, 3})), std::invalid_argument);
  EXPECT_THROW(winograd_conv3x3(torch::randn({1, 2, 4, 4}, torch::kDouble), torch::randn({3, 2, 3, 3})),
               std::invalid_argument);
  EXPECT_THROW(winograd_conv3x3(torch::randn({1, 2, 4, 4}, torch::kHalf), torch::randn({3, 2, 3, 3}, torch::kHalf)),
               std::invalid_argument);
}

TEST(WinogradConv, AppliesOnlyToFloatNchwCpuInputs) {
  auto x = torch::randn({2, 4, 6, 6});
  auto w = torch::randn({4, 4, 3, 3});
  EXPECT_TRUE(winograd_applicable(x, w));
  EXPECT_TRUE(winograd_applicable(x.to(torch::kDouble), w.to(torch::kDouble)));
  EXPECT_FALSE(winograd_applicable(x.to(torch::kDouble), w));
  EXPECT_FALSE(winograd_applicable(x.to(torch::kBFloat16), w));
  EXPECT_FALSE(winograd_applicable(x.contiguous(torch::MemoryFormat::ChannelsLast), w));
  EXPECT_FALSE(winograd_applicable(x, torch::randn({4, 4, 1, 1})));
  EXPECT_FALSE(winograd_applicable(torch::randn({0, 4, 6, 6}), w));
  // Called anyway on an empty batch (a modality absent from a shard): an
  // empty output of the right shape.
  EXPECT_EQ(winograd_conv3x3(torch::randn({0, 4, 6, 6}), w).sizes(), torch::IntArrayRef({0, 4, 6, 6}));
}

TEST(WinogradConv, PolicyPicksStrideOneLayersWideEnough) {
  const Conv3x3Policy from64;
  EXPECT_TRUE(from64.winograd_for(64, 64, 1));
  EXPECT_TRUE(from64.winograd_for(256, 512, 1));
  EXPECT_FALSE(from64.winograd_for(64, 64, 2));
  EXPECT_FALSE(from64.winograd_for(32, 64, 1));
  EXPECT_FALSE(from64.winograd_for(64, 63, 1));
  for (int64_t channels : {1, 64, 2048}) EXPECT_FALSE(Conv3x3Policy::libtorch().winograd_for(channels, channels, 1));
}

// The kernel cannot know about autocast; the model asks (resnet.cpp), so
// that under autocast every convolution is LibTorch's, which autocast casts.
TEST(WinogradConv, ModelLeavesItUnderAutocast) {
  torch::manual_seed(3);
  rfm::model::RfmModel model(rfm::model::RfmModelOptions(18, 10).num_parts(4).part_dim(16));
  model->eval();
  const auto images = torch::randn({2, 3, 64, 32});
  const auto modality = torch::tensor({0, 1}, torch::kInt64);
  auto winograd_nodes = [&] {
    auto out = model->forward(images, modality);
    return count_nodes(out.part_logits.sum(), "WinogradConv3x3");
  };
  EXPECT_EQ(winograd_nodes(), 18);  // the default policy: every 3x3 stride-1 layer (see below)
  {
    rfm::model::AutocastScope autocast(c10::DeviceType::CPU, at::kBFloat16);
    ASSERT_TRUE(autocast.active());
    EXPECT_EQ(winograd_nodes(), 0);
  }
  EXPECT_EQ(winograd_nodes(), 18);
}

TEST(WinogradConv, ModelTakesItWhereConfiguredAndComputesTheSame) {
  // ResNet-18 with MAM on block 3: the backbone runs layer1-3, each modality
  // its own layer4 copy.  Its 3x3 stride-1 convolutions: layer1 4 (64
  // channels), layer2 3 (128; the first is strided), layer3 3 (256), each
  // layer4 copy 4 (256 -> 512, then 512).  A threshold of 256 takes layer3
  // and both copies: 3 + 2 x 4 = 11; of 1, all 4 + 3 + 3 + 8 = 18.
  // LibTorch seeds its default generator at random: without a seed of our
  // own, one run in a few drew images on which a ReLU or max-pool tie
  // flips between the paths (a 2% gradient difference in one layer, either
  // tile); on these the gradients agree to about 2e-6.
  torch::manual_seed(5);
  const auto images = torch::randn({4, 3, 64, 32});
  const auto modality = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  auto run = [&](int64_t min_channels, WinogradTile tile, int* nodes) {
    torch::manual_seed(7);
    rfm::model::RfmModel model(
        rfm::model::RfmModelOptions(18, 10).num_parts(4).part_dim(16).conv3x3(Conv3x3Policy{min_channels, tile}));
    model->eval();  // batch statistics of 2-image modality halves would be fragile; running ones are fixed
    auto out = model->forward(images, modality);
    auto loss = out.part_logits.pow(2).sum() + out.visible_logits.pow(2).sum() + out.infrared_logits.pow(2).sum();
    *nodes = count_nodes(loss, "WinogradConv3x3");
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    return std::make_pair(out.embedding.detach(), grads);
  };
  int none = -1, from256 = -1, all = -1, all4x4 = -1;
  const auto direct = run(0, WinogradTile::kAuto, &none);
  const auto winograd = run(256, WinogradTile::kAuto, &from256);
  const auto everywhere = run(1, WinogradTile::k2x2, &all);
  const auto everywhere4x4 = run(1, WinogradTile::k4x4, &all4x4);
  EXPECT_EQ(none, 0);
  EXPECT_EQ(from256, 11);
  EXPECT_EQ(all, 18);
  EXPECT_EQ(all4x4, 18);
  for (const auto* other : {&winograd, &everywhere, &everywhere4x4}) {
    EXPECT_LT(max_relative_error(other->first, direct.first), 1e-4);
    ASSERT_EQ(other->second.size(), direct.second.size());
    for (size_t i = 0; i < direct.second.size(); ++i) {
      ASSERT_EQ(other->second[i].defined(), direct.second[i].defined()) << i;
      if (direct.second[i].defined()) {
        EXPECT_LT(max_relative_error(other->second[i], direct.second[i]), 1e-3) << i;
      }
    }
  }
}

// One default: the config's section and the policy's own members agree, so
// a model built from Options alone runs what a default run runs.
TEST(WinogradConv, ConfigDefaultsTo64AndAutoLikeThePolicyAndRejectsNegatives) {
  const auto defaults = rfm::config::load_run_config("", {});
  EXPECT_EQ(defaults.cpu_kernels().winograd_min_channels(), 64);
  EXPECT_TRUE(rfm::model_io::model_options(defaults).conv3x3() == Conv3x3Policy{});
  EXPECT_TRUE(rfm::model::RfmModelOptions().conv3x3() == Conv3x3Policy{});
  EXPECT_EQ(Conv3x3Policy{}.winograd_min_channels, 64);
  EXPECT_EQ(Conv3x3Policy{}.winograd_tile, WinogradTile::kAuto);
  EXPECT_EQ(rfm::model_io::model_options(rfm::config::load_run_config("", {"cpu_kernels.winograd_tile=WINOGRAD_2X2"}))
                .conv3x3()
                .winograd_tile,
            WinogradTile::k2x2);
  EXPECT_EQ(rfm::model_io::model_options(rfm::config::load_run_config("", {"cpu_kernels.winograd_tile=WINOGRAD_4X4"}))
                .conv3x3()
                .winograd_tile,
            WinogradTile::k4x4);
  const auto off = rfm::config::load_run_config("", {"cpu_kernels.winograd_min_channels=0"});
  EXPECT_TRUE(rfm::model_io::model_options(off).conv3x3() == Conv3x3Policy::libtorch());
  try {
    rfm::config::load_run_config("", {"cpu_kernels.winograd_min_channels=-1"});
    FAIL() << "a negative threshold was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cpu_kernels.winograd_min_channels"), std::string::npos) << e.what();
  }
}

// Configs, `--set`s and checkpoints written before the fields moved name
// them under train: they are read into cpu_kernels, the old place cleared
// (so the printed config names each field once), and a conflict refused.
TEST(WinogradConv, FieldsMovedFromTrainAreReadIntoCpuKernels) {
  const auto moved = rfm::config::load_run_config(
      "", {"train.winograd_min_channels=128", "train.winograd_tile=WINOGRAD_4X4"});
  EXPECT_EQ(moved.cpu_kernels().winograd_min_channels(), 128);
  EXPECT_EQ(moved.cpu_kernels().winograd_tile(), rfm::config::CpuKernelsConfig::WINOGRAD_4X4);
  const std::string text = rfm::config::to_text(moved);
  EXPECT_EQ(text.find("winograd_min_channels"), text.rfind("winograd_min_channels")) << text;
  EXPECT_NE(text.find("cpu_kernels"), std::string::npos) << text;

  auto old = rfm::config::parse_config_text("train { winograd_min_channels: 0 winograd_tile: WINOGRAD_2X2 }", "old");
  const auto warnings = rfm::config::upgrade_moved_fields(old);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("train.winograd_min_channels moved to cpu_kernels.winograd_min_channels"),
            std::string::npos);
  EXPECT_TRUE(rfm::model_io::model_options(old).conv3x3() == (Conv3x3Policy{0, WinogradTile::k2x2}));
  EXPECT_TRUE(rfm::config::upgrade_moved_fields(old).empty());  // nothing left to move

  auto same = rfm::config::parse_config_text(
      "train { winograd_min_channels: 32 } cpu_kernels { winograd_min_channels: 32 }", "same");
  EXPECT_EQ(rfm::config::upgrade_moved_fields(same).size(), 1u);
  try {
    rfm::config::load_run_config("", {"train.winograd_min_channels=32", "cpu_kernels.winograd_min_channels=64"});
    FAIL() << "two different thresholds were accepted";
  } catch (const rfm::config::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("train.winograd_min_channels (32)"), std::string::npos) << what;
    EXPECT_NE(what.find("cpu_kernels.winograd_min_channels (64)"), std::string::npos) << what;
  }
}
