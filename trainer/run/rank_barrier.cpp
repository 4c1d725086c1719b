#include "trainer/run/rank_barrier.h"

namespace rfm::run {

void wait_for_all_ranks(comm::TensorTransport* transport, const torch::Device& device) {
  if (transport == nullptr) return;
  transport->all_reduce_sum(torch::zeros({1}, torch::TensorOptions(torch::kFloat32).device(device)));
}

}  // namespace rfm::run
