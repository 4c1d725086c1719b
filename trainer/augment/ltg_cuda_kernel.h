#pragma once
// The CUDA LTG kernel's launch, in plain CUDA C++ (no LibTorch), so that nvcc
// compiles it whatever LibTorch the rest is built against.  The caller
// (ltg_batched_cuda.cpp) draws every image's plan on the host and hands the
// rectangles over as one flat array.

#include <cuda_runtime_api.h>

namespace rfm::augment::cuda {

// One accepted rectangle of a plan, as the kernel reads it.
struct KernelRectangle {
  int x, y, width, height;
  float fraction[4];  // f_g per channel (kMaxChannels)
};

// Applies every image's plan to `images` ([B, C, H, W] contiguous float on
// the device), one thread block per image, in one launch on `stream`.
// Image b's rectangles are rectangles[first[b] .. first[b] + count[b]); its
// applied count goes to used[b].  `memory` is [B, C, H, W] scratch (M).
// Requires 0 < t_min < 1 and C <= 4.  Returns the launch's error.
cudaError_t launch_ltg_plans(float* images, float* memory, int batch, int channels, int height, int width,
                             const KernelRectangle* rectangles, const int* first, const int* count, float t_min,
                             int* used, cudaStream_t stream);

}  // namespace rfm::augment::cuda
