// The CUDA path: every image's plan drawn on the host (the stream the
// reference reads), then one kernel launch applies them all
// (ltg_cuda_kernel.cu).  Built where CMake finds nvcc (RFM_HAVE_CUDA_LTG).
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
  result.images = images.contiguous().clone();
  result.rectangles_used.assign(static_cast<size_t>(B), 0);
  if (rectangles.empty()) return result;

  const auto device = images.device();
  // The rectangles as bytes: one host-to-device copy of the whole batch's plans.
  auto packed = torch::empty({static_cast<int64_t>(rectangles.size() * sizeof(cuda::KernelRectangle))}, torch::kUInt8);
  std::memcpy(packed.data_ptr(), rectangles.data(), static_cast<size_t>(packed.numel()));
  packed = packed.to(device);
  auto on_device = [&](std::vector<int>& v) { return torch::from_blob(v.data(), {B}, torch::kInt32).to(device); };
  const auto first_d = on_device(first), count_d = on_device(count);
  auto memory = torch::empty_like(result.images);
  auto used = torch::zeros({B}, torch::TensorOptions().dtype(torch::kInt32).device(device));
  // LibTorch's kernels run on the legacy default stream unless a caller
  // sets another (comm/nccl_transport.h makes the same assumption).
  const cudaError_t launched = cuda::launch_ltg_plans(
      result.images.data_ptr<float>(), memory.data_ptr<float>(), static_cast<int>(B), static_cast<int>(C),
      static_cast<int>(H), static_cast<int>(W), reinterpret_cast<const cuda::KernelRectangle*>(packed.data_ptr()),
      first_d.data_ptr<int>(), count_d.data_ptr<int>(), static_cast<float>(options.t_min), used.data_ptr<int>(), nullptr);
  if (launched != cudaSuccess) throw std::runtime_error(std::string("ltg_batched_cuda: launch failed: ") + cudaGetErrorString(launched));
  auto used_cpu = used.cpu();  // waits for the kernel
  for (int64_t b = 0; b < B; ++b) result.rectangles_used[static_cast<size_t>(b)] = used_cpu.data_ptr<int>()[b];
  return result;
}

}  // namespace rfm::augment
