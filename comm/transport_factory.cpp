#include "comm/transport_factory.h"

#include <stdexcept>

#include "comm/mpi_transport.h"
#ifdef RFM_HAVE_NCCL
#include "comm/nccl_transport.h"
#endif

namespace rfm::comm {

bool nccl_available() {
#ifdef RFM_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

std::shared_ptr<TensorTransport> open_transport(Backend backend, const torch::Device& device, const MpiSession& session) {
  if (session.placement().world_size == 1) return nullptr;
  if (backend == Backend::kAuto) backend = device.is_cuda() ? Backend::kNccl : Backend::kMpi;
  if (backend == Backend::kMpi) {
    if (device.is_cuda()) {
      throw std::invalid_argument("distributed.backend: MPI moves CPU tensors; device " + device.str() +
                                  " needs NCCL (or AUTO)");
    }
    return std::make_shared<MpiTransport>(session);
  }
  if (!device.is_cuda()) {
    throw std::invalid_argument("distributed.backend: NCCL moves CUDA tensors; device " + device.str() +
                                " needs MPI (or AUTO)");
  }
#ifdef RFM_HAVE_NCCL
  MpiTransport bootstrap(session);
  return std::make_shared<NcclTransport>(bootstrap, device.has_index() ? device.index() : 0);
#else
  throw std::invalid_argument(
      "distributed.backend: this build has no NCCL backend (CMake did not find NCCL; see its 'rfm: NCCL backend' "
      "message)");
#endif
}

}  // namespace rfm::comm
