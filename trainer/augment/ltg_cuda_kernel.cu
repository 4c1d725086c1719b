// One block per image walks that image's rectangles in order, as Algorithm 1
// does; the block's threads share each rectangle's pixels.  Per rectangle:
// the per-channel maxima (a block reduction; max is exact in any order and,
// written `v > m ? v : m` as the reference's std::max, skips NaN the same
// way), alpha = f / max in IEEE float division (nvcc's default -prec-div,
// never --use_fast_math), the pixels scaled and capped at 1 and M scaled,
// each a single float multiply like the reference's, then whether M fell to
// t_min inside the rectangle: M was above t_min everywhere before it and
// only the rectangle changed, so that is the reference's min(M) <= t_min.
#include "trainer/augment/ltg_cuda_kernel.h"

namespace rfm::augment::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ float larger(float m, float v) { return v > m ? v : m; }

__global__ void __launch_bounds__(kThreads)
    ltg_plans_kernel(float* images, float* memory, int channels, int height, int width,
                     const KernelRectangle* rectangles, const int* first, const int* count, float t_min, int* used) {
  const int b = blockIdx.x;
  const int n_rect = count[b];
  const size_t plane = static_cast<size_t>(height) * width;
  float* image = images + static_cast<size_t>(b) * channels * plane;
  float* m_image = memory + static_cast<size_t>(b) * channels * plane;
  const KernelRectangle* rects = rectangles + first[b];
  __shared__ float partial[4][kWarps];
  __shared__ float alpha[4];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  if (n_rect > 0) {
    for (size_t i = threadIdx.x; i < channels * plane; i += kThreads) m_image[i] = 1.0f;  // M = Ones(C, H, W)
  }
  __syncthreads();
  int applied = 0;
  for (int j = 0; j < n_rect; ++j) {
    const KernelRectangle r = rects[j];
    const int pixels = r.width * r.height;
    float m[4] = {-1.0f, -1.0f, -1.0f, -1.0f};
    for (int i = threadIdx.x; i < pixels; i += kThreads) {
      const size_t at = static_cast<size_t>(r.y + i / r.width) * width + (r.x + i % r.width);
      for (int c = 0; c < channels; ++c) m[c] = larger(m[c], image[c * plane + at]);
    }
    for (int c = 0; c < channels; ++c) {
      for (int offset = 16; offset > 0; offset /= 2) m[c] = larger(m[c], __shfl_down_sync(0xffffffffu, m[c], offset));
      if (lane == 0) partial[c][warp] = m[c];
    }
    __syncthreads();
    if (threadIdx.x < channels) {
      const int c = threadIdx.x;
      float region_max = -1.0f;
      for (int w = 0; w < kWarps; ++w) region_max = larger(region_max, partial[c][w]);
      alpha[c] = region_max > 0.0f ? r.fraction[c] / region_max : r.fraction[c];
    }
    __syncthreads();
    int reached = 0;
    for (int i = threadIdx.x; i < pixels; i += kThreads) {
      const size_t at = static_cast<size_t>(r.y + i / r.width) * width + (r.x + i % r.width);
      for (int c = 0; c < channels; ++c) {
        const float p = __fmul_rn(image[c * plane + at], alpha[c]);
        image[c * plane + at] = 1.0f < p ? 1.0f : p;
        const float mm = __fmul_rn(m_image[c * plane + at], alpha[c]);
        m_image[c * plane + at] = mm;
        reached |= mm <= t_min ? 1 : 0;
      }
    }
    applied = j + 1;
    // Also the barrier before the next rectangle reads pixels or alpha.
    if (__syncthreads_or(reached)) break;
  }
  if (threadIdx.x == 0) used[b] = applied;
}

}  // namespace

cudaError_t launch_ltg_plans(float* images, float* memory, int batch, int channels, int height, int width,
                             const KernelRectangle* rectangles, const int* first, const int* count, float t_min,
                             int* used, cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  ltg_plans_kernel<<<batch, kThreads, 0, stream>>>(images, memory, channels, height, width, rectangles, first, count,
                                                    t_min, used);
  return cudaGetLastError();
}

}  // namespace rfm::augment::cuda
