#include "comm/in_process_transport.h"

namespace rfm::comm {

InProcessGroup::InProcessGroup(int world_size) : world_size_(world_size), slots_(world_size) {}

std::vector<torch::Tensor> InProcessGroup::exchange(int rank, const torch::Tensor& local) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Wait until the previous round has been read by everyone.
  changed_.wait(lock, [&] { return departed_ == 0; });
  const uint64_t my_round = round_;
  slots_[rank] = local.detach().clone();
  if (++arrived_ == world_size_) {
    ++round_;
    changed_.notify_all();
  } else {
    changed_.wait(lock, [&] { return round_ != my_round; });
  }
  std::vector<torch::Tensor> all = slots_;
  if (++departed_ == world_size_) {
    arrived_ = 0;
    departed_ = 0;
    changed_.notify_all();
  }
  return all;
}

torch::Tensor InProcessTransport::all_reduce_sum(const torch::Tensor& local) {
  auto all = group_->exchange(rank_, local);
  auto sum = all[0].clone();
  for (size_t r = 1; r < all.size(); ++r) sum += all[r];
  return sum;
}

std::vector<torch::Tensor> InProcessTransport::all_gather(const torch::Tensor& local) {
  return group_->exchange(rank_, local);
}

}  // namespace rfm::comm
