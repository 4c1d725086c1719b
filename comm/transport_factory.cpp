#include "comm/transport_factory.h"

#include <stdexcept>

#include "comm/mpi_transport.h"
#ifdef RFM_HAVE_NCCL
#include <nccl.h>

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

std::string nccl_version() {
#ifdef RFM_HAVE_NCCL
  auto text = [](int code) {
    // NCCL_VERSION_CODE: major * 10000 + minor * 100 + patch (2.9 and later).
    return std::to_string(code / 10000) + "." + std::to_string(code / 100 % 100) + "." + std::to_string(code % 100);
  };
  int loaded = 0;
  const std::string compiled = text(NCCL_VERSION_CODE);
  if (ncclGetVersion(&loaded) != ncclSuccess) return "compiled against " + compiled + " (ncclGetVersion failed)";
  return text(loaded) + " (compiled against " + compiled + ")";
#else
  return "not built (CMake found no NCCL, or LibTorch has no CUDA)";
#endif
}

std::shared_ptr<TensorTransport> open_transport(Backend backend, const torch::Device& device, const MpiSession& session,
                                                std::function<void(const std::string&)> on_failure) {
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
  NcclOptions options;
  options.device_index = device.has_index() ? device.index() : 0;
  options.on_failure = std::move(on_failure);
  return std::make_shared<NcclTransport>(bootstrap, std::move(options));
#else
  throw std::invalid_argument(
      "distributed.backend: this build has no NCCL backend (CMake did not find NCCL; see its 'rfm: NCCL backend' "
      "message)");
#endif
}

}  // namespace rfm::comm
