#include "trainer/run/rank_barrier.h"

namespace rfm::run {

void wait_for_all_ranks(comm::TensorTransport* transport) {
  if (transport != nullptr) transport->barrier();
}

}  // namespace rfm::run
