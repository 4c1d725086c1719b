#pragma once
// Ranks as threads of one process: a TensorTransport over shared memory.
// For tests of the global-batch semantics (N "ranks" against one process)
// without MPI, and for single-node experiments.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "comm/tensor_transport.h"

namespace rfm::comm {

// The rendezvous every rank's transport shares.
class InProcessGroup {
 public:
  explicit InProcessGroup(int world_size);
  int world_size() const { return world_size_; }
  // Deposits `local` as `rank`'s contribution and returns every rank's, in
  // rank order, once all have arrived.  Calls pair up in program order.
  std::vector<torch::Tensor> exchange(int rank, const torch::Tensor& local);

 private:
  int world_size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<torch::Tensor> slots_;
  int arrived_ = 0;
  int departed_ = 0;
  uint64_t round_ = 0;
};

class InProcessTransport final : public TensorTransport {
 public:
  InProcessTransport(std::shared_ptr<InProcessGroup> group, int rank) : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return group_->world_size(); }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override;
  const char* backend_name() const override { return "in-process"; }

 private:
  std::shared_ptr<InProcessGroup> group_;
  int rank_;
};

}  // namespace rfm::comm
