#pragma once
// Every rank reaches this point before any goes on: rank 0's checkpoint or
// evaluation is finished before another rank may use or outlive it.

#include <torch/torch.h>

#include "comm/tensor_transport.h"

namespace rfm::run {

// `transport` nullptr (one process): returns at once.
void wait_for_all_ranks(comm::TensorTransport* transport, const torch::Device& device);

}  // namespace rfm::run
