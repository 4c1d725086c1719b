// The gradient reducer's bucket order and readiness on the CPU, with a
// transport that records what it is asked to start: the logic the NCCL path
// relies on when autograd's device thread runs the hooks.  Backward runs on
// a thread of its own here, as CUDA backward does.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "comm/gradient_reducer.h"

namespace rfm {
namespace {

// One rank (a sum over one rank is the buffer itself) that starts buckets
// from any thread, like NCCL, or only from the opening thread, like MPI.
// Each start records which thread asked and the buffer as it was then; the
// sum completes only when polled twice, so that pending sums are really
// driven.
class RecordingTransport final : public comm::TensorTransport {
 public:
  struct Start {
    const void* data;
    int64_t numel;
    std::thread::id thread;
    torch::Tensor contents;
  };
  explicit RecordingTransport(bool any_thread) : any_thread_(any_thread) {}
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override { return local.clone(); }
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override { return {local.clone()}; }
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override {
    std::lock_guard<std::mutex> lock(mutex_);
    after_backward_ += static_cast<int>(buffers.size());
  }
  std::unique_ptr<comm::PendingReduction> start_gradient_sum(torch::Tensor& buffer) override {
    std::lock_guard<std::mutex> lock(mutex_);
    starts_.push_back({buffer.data_ptr(), buffer.numel(), std::this_thread::get_id(), buffer.clone()});
    return std::make_unique<Pending>();
  }
  bool overlaps_backward() const override { return true; }
  bool starts_from_any_thread() const override { return any_thread_; }
  const char* backend_name() const override { return "recording"; }

  std::vector<Start> starts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return starts_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    starts_.clear();
    after_backward_ = 0;
  }
  int after_backward() {
    std::lock_guard<std::mutex> lock(mutex_);
    return after_backward_;
  }

 private:
  class Pending final : public comm::PendingReduction {
   public:
    bool poll() override { return ++polls_ >= 2; }
    void wait() override { polls_ = 2; }

   private:
    int polls_ = 0;
  };
  bool any_thread_;
  std::mutex mutex_;
  std::vector<Start> starts_;
  int after_backward_ = 0;
};

torch::nn::Sequential make_net() {
  torch::manual_seed(3);
  return torch::nn::Sequential(torch::nn::Linear(6, 8), torch::nn::Tanh(), torch::nn::Linear(8, 8), torch::nn::Tanh(),
                               torch::nn::Linear(8, 5), torch::nn::Tanh(), torch::nn::Linear(5, 2));
}

torch::Tensor loss_of(torch::nn::Sequential& net, int step) {
  auto x = torch::linspace(-1.0, 1.0, 24).view({4, 6}) + 0.25 * step;
  return net->forward(x).pow(2).sum();
}

// Which bucket a start belongs to: the bucket whose first parameter's
// gradient view begins where the started buffer begins.
int bucket_of_start(const comm::GradientReducer& reducer, const std::vector<torch::Tensor>& params, const void* data) {
  const auto& buckets = reducer.buckets();
  for (size_t b = 0; b < buckets.size(); ++b) {
    if (params[buckets[b].front()].grad().data_ptr() == data) return static_cast<int>(b);
  }
  return -1;
}

// With hooks allowed off the opening thread (NCCL), every bucket starts
// during backward, from the backward thread, strictly in bucket order, and
// only once every gradient in it is final: the buffer at its start already
// equals the gradients a plain backward computes.
TEST(GradientBuckets, StartInOrderFromBackwardThreadOnceComplete) {
  auto net = make_net();
  auto twin = make_net();  // same seed: same weights, plain local gradients
  const auto params = net->parameters();
  auto transport = std::make_shared<RecordingTransport>(/*any_thread=*/true);
  // 200-byte buckets: a layer's two gradients may share one, a large
  // weight fills one alone, and some buckets wait for the next layer.
  comm::GradientReducer reducer(params, transport, /*bucket_mb=*/50.0 * 4 / (1024.0 * 1024.0), /*overlap=*/true);
  ASSERT_TRUE(reducer.overlapping());
  ASSERT_GE(reducer.buckets().size(), 4u);
  // Reverse registration order: the last layer's parameters come first.
  EXPECT_EQ(reducer.buckets().front().front(), params.size() - 1);

  for (int step = 0; step < 3; ++step) {
    transport->clear();
    for (auto& p : twin->parameters()) p.mutable_grad() = torch::Tensor();
    loss_of(twin, step).backward();
    for (auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    reducer.begin_step();
    std::thread::id backward_thread;
    std::thread worker([&] {
      backward_thread = std::this_thread::get_id();
      loss_of(net, step).backward();
    });
    worker.join();
    const auto during = transport->starts();
    EXPECT_EQ(reducer.started_during_backward(), static_cast<int64_t>(reducer.buckets().size())) << "step " << step;
    ASSERT_EQ(during.size(), reducer.buckets().size()) << "step " << step;
    for (size_t i = 0; i < during.size(); ++i) {
      EXPECT_EQ(bucket_of_start(reducer, params, during[i].data), static_cast<int>(i)) << "start " << i;
      EXPECT_EQ(during[i].thread, backward_thread) << "start " << i;
      // Complete when started: each parameter's slice is its final gradient.
      int64_t offset = 0;
      for (size_t k : reducer.buckets()[i]) {
        const auto n = params[k].numel();
        const auto expected = twin->parameters()[k].grad().reshape(-1);
        EXPECT_TRUE(torch::equal(during[i].contents.narrow(0, offset, n), expected))
            << "bucket " << i << " started before parameter " << k << "'s gradient was in it";
        offset += n;
      }
      EXPECT_EQ(offset, during[i].numel);
    }
    reducer.all_reduce_gradients();
    // After backward only the presence flags are started; no bucket again.
    const auto all = transport->starts();
    ASSERT_EQ(all.size(), reducer.buckets().size() + 1);
    EXPECT_EQ(all.back().numel, static_cast<int64_t>(params.size() + reducer.buckets().size()));
    EXPECT_EQ(transport->after_backward(), 0);
    for (size_t k = 0; k < params.size(); ++k) {
      EXPECT_TRUE(torch::equal(params[k].grad(), twin->parameters()[k].grad())) << "parameter " << k;
    }
  }
}

// MPI opened MPI_THREAD_FUNNELED: hooks on another thread start nothing, and
// every bucket starts after backward from the opening thread, still in
// order, with the same sums.
TEST(GradientBuckets, FunneledTransportStartsNothingOffItsThread) {
  auto net = make_net();
  auto twin = make_net();
  const auto params = net->parameters();
  auto transport = std::make_shared<RecordingTransport>(/*any_thread=*/false);
  comm::GradientReducer reducer(params, transport, /*bucket_mb=*/50.0 * 4 / (1024.0 * 1024.0), /*overlap=*/true);
  loss_of(twin, 0).backward();
  reducer.begin_step();
  std::thread worker([&] { loss_of(net, 0).backward(); });
  worker.join();
  EXPECT_EQ(reducer.started_during_backward(), 0);
  EXPECT_TRUE(transport->starts().empty());
  reducer.all_reduce_gradients();
  const auto starts = transport->starts();
  ASSERT_EQ(starts.size(), reducer.buckets().size() + 1);
  for (size_t i = 0; i < reducer.buckets().size(); ++i) {
    EXPECT_EQ(bucket_of_start(reducer, params, starts[i].data), static_cast<int>(i));
    EXPECT_EQ(starts[i].thread, std::this_thread::get_id());
  }
  for (size_t k = 0; k < params.size(); ++k) {
    EXPECT_TRUE(torch::equal(params[k].grad(), twin->parameters()[k].grad())) << "parameter " << k;
  }
}

// Buckets start strictly in order, so a bucket whose gradients come last
// holds back every bucket after it: all ranks start their buckets in one
// order whatever order backward produced them in.  Here the last registered
// layer (the first bucket) runs first in forward, so its gradients come
// last in backward; nothing may start before them.
TEST(GradientBuckets, FirstBucketFilledLastHoldsBackTheOthers) {
  torch::manual_seed(9);
  torch::nn::Linear a(4, 4), b(4, 4), c(4, 4);
  std::vector<torch::Tensor> params;  // registration order: a, b, c
  for (auto* m : std::initializer_list<torch::nn::Module*>{a.get(), b.get(), c.get()}) {
    for (auto& p : m->parameters()) params.push_back(p);
  }
  auto transport = std::make_shared<RecordingTransport>(/*any_thread=*/true);
  // One bucket per parameter, launch order c.bias, c.weight, b.bias,
  // b.weight, a.bias, a.weight.
  comm::GradientReducer reducer(params, transport, 1e-6, /*overlap=*/true);
  ASSERT_EQ(reducer.buckets().size(), 6u);
  EXPECT_EQ(reducer.buckets()[0].front(), 5u);
  EXPECT_EQ(reducer.buckets()[5].front(), 0u);
  reducer.begin_step();
  auto out = b->forward(torch::tanh(a->forward(torch::tanh(c->forward(torch::ones({2, 4}))))));
  std::thread worker([&] { out.pow(2).sum().backward(); });
  worker.join();
  const auto starts = transport->starts();
  ASSERT_EQ(starts.size(), 6u);
  EXPECT_EQ(reducer.started_during_backward(), 6);
  for (size_t i = 0; i < starts.size(); ++i) {
    EXPECT_EQ(bucket_of_start(reducer, params, starts[i].data), static_cast<int>(i));
    const size_t k = reducer.buckets()[i].front();
    EXPECT_TRUE(torch::equal(starts[i].contents, params[k].grad().reshape(-1))) << "bucket " << i;
    EXPECT_GT(starts[i].contents.abs().sum().item<float>(), 0.0f) << "bucket " << i;
  }
  reducer.all_reduce_gradients();
}

}  // namespace
}  // namespace rfm
