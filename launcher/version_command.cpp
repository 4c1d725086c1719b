// rfm version: what this build is and what it runs on: rfm's commit,
// LibTorch, the CUDA, cuDNN and NCCL it was compiled with, the MPI library,
// and the GPUs visible now.

#include <mpi.h>

#include <iostream>
#include <sstream>
#include <string>

#include "comm/transport_factory.h"
#include "launcher/build_info.h"
#include "launcher/commands.h"
#include "trainer/augment/ltg.h"

#if defined(RFM_TORCH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <cuda_runtime_api.h>
#endif

namespace rfm::launcher {
namespace {

std::string dotted_cuda(long code) {  // 13000 -> 13.0 (CUDA's encoding: major * 1000 + minor * 10)
  return std::to_string(code / 1000) + "." + std::to_string(code % 1000 / 10);
}

std::string dotted_cudnn(long code) {  // 91900 -> 9.19.0 (cuDNN 9: major * 10000 + minor * 100 + patch)
  return std::to_string(code / 10000) + "." + std::to_string(code / 100 % 100) + "." + std::to_string(code % 100);
}

std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string line(text, static_cast<size_t>(length));
  const auto end = line.find_first_of("\n,");
  return line.substr(0, end);
}

void print_version(std::ostream& out) {
  out << "rfm " << rfm_commit() << "\n";
  out << "LibTorch " << TORCH_VERSION_MAJOR << "." << TORCH_VERSION_MINOR << "." << TORCH_VERSION_PATCH << "\n";
#if defined(RFM_TORCH_CUDA)
  const auto& hooks = at::detail::getCUDAHooks();
  out << "CUDA " << dotted_cuda(CUDART_VERSION) << " (compiled in; LibTorch built with "
      << dotted_cuda(hooks.versionCUDART()) << ")\n";
  out << "cuDNN " << dotted_cudnn(hooks.versionCuDNN()) << " (LibTorch's)\n";
#else
  out << "CUDA none (a CPU LibTorch)\n";
  out << "cuDNN none\n";
#endif
  out << "NCCL " << comm::nccl_version() << "\n";
  out << "CUDA LTG kernel " << (augment::ltg_cuda_kernel_built() ? "compiled" : "not compiled (no nvcc)") << "\n";
  out << "MPI " << mpi_library() << "\n";
#if defined(RFM_TORCH_CUDA)
  int devices = 0;
  const cudaError_t asked = cudaGetDeviceCount(&devices);
  if (asked != cudaSuccess || devices == 0) {
    out << "GPU none visible (" << (asked == cudaSuccess ? "no device" : cudaGetErrorString(asked)) << ")\n";
    return;
  }
  int driver = 0;
  cudaDriverGetVersion(&driver);
  out << "GPU " << devices << " visible, driver for CUDA " << dotted_cuda(driver) << "\n";
  for (int d = 0; d < devices; ++d) {
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(d));
    std::ostringstream memory;
    memory.precision(1);
    memory << std::fixed << static_cast<double>(p->totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
    out << "  cuda:" << d << " " << p->name << ", compute capability " << p->major << "." << p->minor << ", "
        << memory.str() << " GiB\n";
  }
#else
  out << "GPU none (a CPU LibTorch)\n";
#endif
}

}  // namespace

Command version_command() {
  Command c;
  c.name = "version";
  c.summary = "rfm's commit, LibTorch, the CUDA, cuDNN, NCCL and MPI it was built with, and the GPUs visible now";
  c.run = [](const ParsedArguments& /*args*/) {
    print_version(std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
