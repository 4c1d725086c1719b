#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "trainer/loss/metric_losses.h"
#include "trainer/loss/rfm_loss.h"

using namespace rfm::loss;

namespace {

rfm::comm::LocalCollectives local;

// The 1-D example of the centre-loss tests: identity 0 has visible {0, 2}
// and infrared {4}; identity 1 has visible {10} and infrared {10, 12}.
struct Example {
  torch::Tensor f = torch::tensor({0.0, 2.0, 4.0, 10.0, 10.0, 12.0}, torch::kFloat64).view({6, 1, 1});
  torch::Tensor labels = torch::tensor({0, 0, 0, 1, 1, 1}, torch::kInt64);
  torch::Tensor modality = torch::tensor({0, 0, 1, 0, 1, 1}, torch::kInt64);
};

// Max |analytic - central difference| of d fn / d x (double precision).
double gradient_error(const std::function<torch::Tensor(const torch::Tensor&)>& fn, torch::Tensor x) {
  x = x.detach().clone().requires_grad_(true);
  auto analytic = torch::autograd::grad({fn(x)}, {x})[0];
  auto flat = x.detach().clone().view(-1);
  double worst = 0;
  const double eps = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric = (fn(plus.view(x.sizes())).item<double>() - fn(minus.view(x.sizes())).item<double>()) / (2 * eps);
    worst = std::max(worst, std::abs(numeric - analytic.reshape(-1)[i].item<double>()));
  }
  return worst;
}

}  // namespace

TEST(Losses, CrossCenterByHand) {
  Example e;
  CentreLossOptions o;
  // |0-4| + |2-4| + |10-11| + |4-1| + |10-10| + |12-10| = 12; 1/2 * 12 / 6.
  EXPECT_NEAR(cross_center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 1.0, 1e-12);
  o.distance = Distance::kSquaredEuclidean;
  EXPECT_NEAR(cross_center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 34.0 / 2 / 6, 1e-12);
  o.normalize_by_batch = false;
  EXPECT_NEAR(cross_center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 17.0, 1e-12);
}

TEST(Losses, CenterAndHeteroCenterByHand) {
  Example e;
  CentreLossOptions o;
  // Class centres 2 and 32/3: distances 2, 0, 2, 2/3, 2/3, 4/3 -> 20/3.
  EXPECT_NEAR(center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 0.5 * (20.0 / 3) / 6, 1e-12);
  // |c_v - c_n|: |1 - 4| + |10 - 11| = 4.
  EXPECT_NEAR(hetero_center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 4.0 / 6, 1e-12);
  o.normalize_by_batch = false;
  EXPECT_NEAR(hetero_center_loss(e.f, e.labels, e.modality, o, local).item<double>(), 4.0, 1e-12);
}

TEST(Losses, TripletBatchHardByHand) {
  auto f = torch::tensor({0.0, 1.0, 3.0, 5.0}, torch::kFloat64).view({4, 1, 1});
  auto labels = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  // Anchors: (d_ap, d_an) = (1, 3), (1, 2), (2, 2), (2, 4); margin 3 -> 1 + 2 + 3 + 1 = 7.
  EXPECT_NEAR(triplet_loss(f, labels, 3.0, local).item<double>(), 7.0 / 4, 1e-6);
  // Margin 0.3: only anchor 3 (d_ap = d_an = 2) is active: 0.3 / 4.
  EXPECT_NEAR(triplet_loss(f, labels, 0.3, local).item<double>(), 0.075, 1e-6);
}

TEST(Losses, IdentityWithLabelSmoothingByHand) {
  auto logits = torch::tensor({0.0, std::log(3.0)}, torch::kFloat64).view({1, 2});
  auto labels = torch::tensor({1}, torch::kInt64);
  const double nll = -std::log(0.75), uniform = -(std::log(0.25) + std::log(0.75)) / 2;
  EXPECT_NEAR(identity_loss(logits, labels, 0.0, local).item<double>(), nll, 1e-12);
  EXPECT_NEAR(identity_loss(logits, labels, 0.1, local).item<double>(), 0.9 * nll + 0.1 * uniform, 1e-12);
  // Parts are leading dims: [K, N, C] -> [K].
  auto parts = identity_loss(logits.view({1, 1, 2}).expand({3, 1, 2}), labels, 0.0, local);
  ASSERT_EQ(parts.sizes(), torch::IntArrayRef({3}));
  EXPECT_NEAR(parts[2].item<double>(), nll, 1e-12);
}

TEST(Losses, CrossCenterIsZeroOnTheOtherCentreWithZeroGradient) {
  // Every sample of an identity at one point: each sits on the other modality's centre.
  auto points = torch::randn({3, 2, 4}, torch::kFloat64);
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2, 0, 1}, torch::kInt64);
  auto modality = torch::tensor({0, 1, 0, 1, 0, 1, 1, 0}, torch::kInt64);
  auto f = points.index_select(0, labels).clone().requires_grad_(true);
  auto loss = cross_center_loss(f, labels, modality, {}, local);
  EXPECT_EQ(loss.sum().item<double>(), 0.0);
  loss.sum().backward();
  EXPECT_EQ(f.grad().abs().max().item<double>(), 0.0);  // not NaN
}

TEST(Losses, SwappingModalitiesLeavesCrossCenterUnchanged) {
  auto f = torch::randn({10, 3, 5}, torch::kFloat64);
  auto labels = torch::tensor({0, 0, 0, 1, 1, 1, 1, 2, 2, 2}, torch::kInt64);
  auto modality = torch::tensor({0, 1, 1, 0, 0, 1, 1, 1, 0, 1}, torch::kInt64);
  for (auto distance : {Distance::kEuclidean, Distance::kSquaredEuclidean}) {
    CentreLossOptions o;
    o.distance = distance;
    auto a = cross_center_loss(f, labels, modality, o, local);
    auto b = cross_center_loss(f, labels, 1 - modality, o, local);
    EXPECT_TRUE(torch::allclose(a, b, 1e-12, 1e-12));
  }
}

TEST(Losses, SampleWithoutOtherModalityAddsNothing) {
  auto f = torch::tensor({1.0, 3.0, 7.0}, torch::kFloat64).view({3, 1, 1});
  auto labels = torch::tensor({0, 0, 1}, torch::kInt64);
  auto modality = torch::tensor({0, 1, 0}, torch::kInt64);  // identity 1 has no infrared image
  // Only identity 0: |1-3| + |3-1| = 4; 1/2 * 4 / 3.
  EXPECT_NEAR(cross_center_loss(f, labels, modality, {}, local).item<double>(), 2.0 / 3, 1e-12);
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  auto f = torch::randn({8, 2, 3}, torch::kFloat64);
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2, 0, 1}, torch::kInt64);
  auto modality = torch::tensor({0, 1, 0, 1, 0, 1, 0, 0}, torch::kInt64);
  for (auto distance : {Distance::kEuclidean, Distance::kSquaredEuclidean}) {
    CentreLossOptions o;
    o.distance = distance;
    EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return cross_center_loss(x, labels, modality, o, local).sum(); }, f), 1e-6);
    EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return center_loss(x, labels, modality, o, local).sum(); }, f), 1e-6);
    EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return hetero_center_loss(x, labels, modality, o, local).sum(); }, f), 1e-6);
  }
  EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return triplet_loss(x, labels, 5.0, local).sum(); }, f), 1e-6);
  auto logits = torch::randn({2, 8, 3}, torch::kFloat64);
  EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return identity_loss(x, labels, 0.1, local).sum(); }, logits), 1e-6);
}

TEST(Losses, DetachedCentresCarryNoGradient) {
  Example e;
  CentreLossOptions o;
  o.detach_centres = true;
  auto f = e.f.clone().requires_grad_(true);
  cross_center_loss(f, e.labels, e.modality, o, local).sum().backward();
  // With fixed centres, d/df of 1/2 |f - c| / N is sign(f - c) / (2N): sample 0 (0 vs 4) gets -1/12.
  EXPECT_NEAR(f.grad().view(-1)[0].item<double>(), -1.0 / 12, 1e-12);
}

TEST(Losses, TotalFollowsEquationNine) {
  Example e;
  rfm::model::RfmOutput out;
  out.metric_features = e.f.expand({6, 2, 1}).contiguous();  // K = 2 identical parts
  out.part_logits = torch::zeros({2, 6, 3}, torch::kFloat64);
  out.visible_index = torch::tensor({0, 1, 3}, torch::kInt64);
  out.infrared_index = torch::tensor({2, 4, 5}, torch::kInt64);
  out.visible_logits = torch::zeros({3, 3}, torch::kFloat64);
  out.infrared_logits = torch::zeros({3, 3}, torch::kFloat64);
  RfmLossOptions o;
  o.triplet_margin = 0.3;
  auto terms = rfm_loss(out, e.labels, e.modality, o, local);
  EXPECT_NEAR(terms[kIdLoss].item<double>(), 2 * std::log(3.0), 1e-12);        // two parts of uniform logits
  EXPECT_NEAR(terms[kModalityIdLoss].item<double>(), 2 * std::log(3.0), 1e-12);
  EXPECT_NEAR(terms[kCentreLoss].item<double>(), 2 * 1.0, 1e-12);               // CrossCenterByHand per part
  EXPECT_NEAR(terms[kTotalLoss].item<double>(),
              terms[kModalityIdLoss].item<double>() + terms[kIdLoss].item<double>() + terms[kTripletLoss].item<double>() +
                  3.0 * terms[kCentreLoss].item<double>(),
              1e-12);
}
