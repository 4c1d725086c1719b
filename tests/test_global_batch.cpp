// N ranks computing the losses of one global batch through the collectives
// equal one process on that batch: the loss shares sum to the loss, and each
// rank's gradient is the single-process gradient of its rows.
#include <gtest/gtest.h>

#include <thread>

#include "comm/in_process_transport.h"
#include "trainer/loss/metric_losses.h"

using namespace rfm;

namespace {

torch::Tensor all_losses(const torch::Tensor& f, const torch::Tensor& logits, const torch::Tensor& labels,
                         const torch::Tensor& modality, comm::BatchCollectives& c) {
  loss::CentreLossOptions euclid, squared;
  squared.distance = loss::Distance::kSquaredEuclidean;
  return loss::triplet_loss(f, labels, 0.8, c).sum() + loss::cross_center_loss(f, labels, modality, euclid, c).sum() +
         loss::cross_center_loss(f, labels, modality, squared, c).sum() +
         loss::center_loss(f, labels, modality, euclid, c).sum() +
         loss::hetero_center_loss(f, labels, modality, euclid, c).sum() +
         loss::identity_loss(logits, labels, 0.1, c).sum();
}

}  // namespace

TEST(GlobalBatch, ShardedRanksEqualOneProcess) {
  torch::manual_seed(5);
  const auto f = torch::randn({12, 3, 4}, torch::kFloat64);
  const auto logits = torch::randn({3, 12, 5}, torch::kFloat64);
  const auto labels = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, torch::kInt64);
  const auto modality = torch::tensor({0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 0}, torch::kInt64);

  comm::LocalCollectives local;
  auto f1 = f.clone().requires_grad_(true);
  auto l1 = logits.clone().requires_grad_(true);
  auto single = all_losses(f1, l1, labels, modality, local);
  single.backward();

  // Uneven shards: rank 0 holds 5 rows, rank 1 holds 7.
  const std::vector<torch::Tensor> rows = {torch::tensor({0, 2, 4, 5, 9}), torch::tensor({1, 3, 6, 7, 8, 10, 11})};
  auto group = std::make_shared<comm::InProcessGroup>(2);
  std::vector<double> shares(2);
  std::vector<torch::Tensor> f_grads(2), logit_grads(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      comm::DifferentiableCollectives collectives(std::make_shared<comm::InProcessTransport>(group, r));
      auto fr = f.index_select(0, rows[r]).requires_grad_(true);
      auto lr = logits.index_select(1, rows[r]).requires_grad_(true);
      auto share = all_losses(fr, lr, labels.index_select(0, rows[r]), modality.index_select(0, rows[r]), collectives);
      share.backward();
      shares[r] = share.item<double>();
      f_grads[r] = fr.grad();
      logit_grads[r] = lr.grad();
    });
  }
  for (auto& t : ranks) t.join();

  EXPECT_NEAR(shares[0] + shares[1], single.item<double>(), 1e-10);
  EXPECT_GT(std::abs(shares[0] - shares[1]), 1e-3);  // the shares are real parts, not copies
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(f_grads[r], f1.grad().index_select(0, rows[r]), 1e-9, 1e-11)) << "rank " << r;
    EXPECT_TRUE(torch::allclose(logit_grads[r], l1.grad().index_select(1, rows[r]), 1e-9, 1e-11)) << "rank " << r;
  }
}

TEST(GlobalBatch, GatherReturnsRankOrderAndOffsets) {
  auto group = std::make_shared<comm::InProcessGroup>(3);
  std::vector<comm::GatheredTensor> out(3);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r) {
    ranks.emplace_back([&, r] {
      comm::DifferentiableCollectives c(std::make_shared<comm::InProcessTransport>(group, r));
      for (int round = 0; round < 20; ++round) {  // many rounds: the rendezvous must not mix them
        out[r] = c.all_gather(torch::full({r + 1, 2}, static_cast<double>(10 * round + r)));
        EXPECT_EQ(c.all_reduce_sum(torch::full({1}, 1.0)).item<double>(), 3.0);
      }
    });
  }
  for (auto& t : ranks) t.join();
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out[r].all.size(0), 6);
    EXPECT_EQ(out[r].local_offset, r == 0 ? 0 : (r == 1 ? 1 : 3));
    EXPECT_EQ(out[r].all[3][0].item<double>(), 192.0);  // round 19, rank 2's first row
  }
}
