#pragma once
// Every rank reaches this point before any goes on: rank 0's checkpoint or
// evaluation is finished before another rank may use or outlive it.

#include "comm/tensor_transport.h"

namespace rfm::run {

// Blocks the host until every rank is here (TensorTransport::barrier: on
// NCCL too, so that no rank runs ahead into the next step's collectives
// while rank 0 evaluates).  `transport` nullptr (one process): returns at once.
void wait_for_all_ranks(comm::TensorTransport* transport);

}  // namespace rfm::run
