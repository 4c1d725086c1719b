// The CUDA path: every image's plan drawn on the host (the stream the
// reference reads), then one kernel launch applies them all
// (ltg_cuda_kernel.cu).  Built where CMake finds nvcc (RFM_HAVE_CUDA_LTG).
//
// No host synchronisation: the plans go over in one asynchronous copy from
// page-locked memory (a copy from pageable memory would wait for the
// stream), the kernel runs on LibTorch's current stream of the batch's GPU
// (under a device guard, whatever device the calling thread has current),
// and the applied counts stay on the GPU.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "trainer/augment/ltg.h"
#include "trainer/augment/ltg_cuda_kernel.h"

namespace rfm::augment {

LtgBatchResult ltg_batched_cuda(const torch::Tensor& images, const LtgOptions& options,
                                const std::vector<uint64_t>& seeds) {
  check_ltg_batch(images, seeds);
  if (!images.device().is_cuda()) throw std::invalid_argument("ltg_batched_cuda: expected a CUDA batch");
  // The reference stops after its first try when t_min >= 1, accepted or
  // not, and a plan keeps only the accepted tries.
  if (!(options.t_min > 0.0 && options.t_min < 1.0)) throw std::invalid_argument("ltg_batched_cuda: t_min must be in (0, 1)");
  const int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  LtgBatchResult result;
  result.plans.reserve(static_cast<size_t>(B));
  std::vector<cuda::KernelRectangle> rectangles;
  std::vector<int> first(static_cast<size_t>(B)), count(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    result.plans.push_back(plan_ltg(options, seeds[static_cast<size_t>(b)], static_cast<int>(C), static_cast<int>(H),
                                    static_cast<int>(W)));
    first[static_cast<size_t>(b)] = static_cast<int>(rectangles.size());
    for (const auto& r : result.plans.back().rectangles) {
      cuda::KernelRectangle k{r.x, r.y, r.width, r.height, {}};
      for (int c = 0; c < kMaxChannels; ++c) k.fraction[c] = r.fraction[c];
      rectangles.push_back(k);
    }
    count[static_cast<size_t>(b)] = static_cast<int>(result.plans.back().rectangles.size());
  }
  const auto device = images.device();
  const c10::cuda::CUDAGuard guard(device);
  result.images = images.contiguous().clone();
  result.rectangles_used = torch::zeros({B}, torch::TensorOptions(torch::kInt32).device(device));
  if (rectangles.empty()) return result;

  // One page-locked buffer: the rectangles, then first[B], then count[B].
  const size_t rectangle_bytes = rectangles.size() * sizeof(cuda::KernelRectangle);
  const size_t ints_at = (rectangle_bytes + 15) / 16 * 16;
  const size_t int_bytes = static_cast<size_t>(B) * sizeof(int);
  auto host = torch::empty({static_cast<int64_t>(ints_at + 2 * int_bytes)},
                           torch::TensorOptions(torch::kUInt8).pinned_memory(true));
  auto* bytes = static_cast<uint8_t*>(host.data_ptr());
  std::memcpy(bytes, rectangles.data(), rectangle_bytes);
  std::memcpy(bytes + ints_at, first.data(), int_bytes);
  std::memcpy(bytes + ints_at + int_bytes, count.data(), int_bytes);
  // The caching host allocator keeps the buffer until the copy has run.
  const auto plans = host.to(device, /*non_blocking=*/true);
  const auto* on_device = static_cast<const uint8_t*>(plans.data_ptr());
  auto memory = torch::empty_like(result.images);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device.index()).stream();
  const cudaError_t launched = cuda::launch_ltg_plans(
      result.images.data_ptr<float>(), memory.data_ptr<float>(), static_cast<int>(B), static_cast<int>(C),
      static_cast<int>(H), static_cast<int>(W), reinterpret_cast<const cuda::KernelRectangle*>(on_device),
      reinterpret_cast<const int*>(on_device + ints_at), reinterpret_cast<const int*>(on_device + ints_at + int_bytes),
      static_cast<float>(options.t_min), result.rectangles_used.data_ptr<int>(), stream);
  if (launched != cudaSuccess) throw std::runtime_error(std::string("ltg_batched_cuda: launch failed: ") + cudaGetErrorString(launched));
  return result;
}

}  // namespace rfm::augment
