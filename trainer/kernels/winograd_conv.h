#pragma once
// A 3x3 convolution (stride 1, padding 1, no bias) by Winograd's minimal
// filtering F(2x2, 3x3) or F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016), for float32 on the CPU (and
// float64, which the step-by-step parity test with PyTorch trains in).
//
// Why: on a CPU the oneDNN kernels LibTorch calls run the 3x3 convolutions
// of a ReID-sized ResNet (small maps: 8x4 to 32x16 at 128x64, 24x12 at
// 384x192) at about half the machine's float32 rate, and those layers are
// most of a training step.  F(2x2, 3x3) needs 16 multiplications for each
// 2x2 output tile where the direct convolution needs 36 (F(4x4, 3x3): 36
// for a 4x4 tile, against 144), and its 16 (36) independent products are
// plain matrix products, which the BLAS runs near the machine's rate.
// Forward, input gradient and weight gradient all become products of the
// same sizes.  cuDNN makes the same choice by itself on a GPU, so there the
// direct path stays.

#include <torch/torch.h>

namespace rfm::kernels {

// The output tile m of F(m x m, 3x3).  F(4x4, 3x3) (36 products, 2.25
// multiplications per output) does less arithmetic and moves less memory
// than F(2x2, 3x3) (16 products, 4 per output), at a larger rounding
// error: a few 1e-6 against a few 1e-7 relative to the largest value.
// Each of its products, though, reads a whole transformed weight matrix
// (K x C) for fewer columns (images x tiles), and 36 of them: on small
// maps of few images F(2x2) is faster.  kAuto takes F(4x4) when its
// products have at least kMinColumnsFor4x4 columns, F(2x2) otherwise
// (docs/PERFORMANCE.md, "3x3 convolutions", has the measurements).
enum class WinogradTile { kAuto = 0, k2x2 = 2, k4x4 = 4 };
constexpr int64_t kMinColumnsFor4x4 = 64;

// The tile kAuto takes for an input of n images of h x w.
WinogradTile winograd_auto_tile(int64_t n, int64_t h, int64_t w);

// y = conv2d(input, weight, stride 1, padding 1) for input [N, C, H, W] and
// weight [K, C, 3, 3], both float32 (or both float64) on the CPU;
// differentiable in both.  Agrees with the direct convolution to rounding:
// the tests hold forward and both gradients of float32 within 1e-5
// (relative to the largest value) of a float64 direct convolution, and of
// float64 within 1e-12.
torch::Tensor winograd_conv3x3(const torch::Tensor& input, const torch::Tensor& weight,
                               WinogradTile tile = WinogradTile::kAuto);

// Whether winograd_conv3x3(input, weight) computes what the direct
// convolution would for these tensors: a 3x3 weight, float32 or float64
// NCHW (contiguous) on the CPU, and a non-empty batch.  The layer's own
// geometry (stride 1, padding 1, no bias, no groups) and autocast (under
// which the direct convolution would run in bfloat16) are the caller's to
// know: the model asks both (trainer/model/resnet.cpp).
bool winograd_applicable(const torch::Tensor& input, const torch::Tensor& weight);

// How many threads the transforms' and products' loops run on, asked with
// as many items as intra-op threads: 1 in a build without OpenMP, whose
// at::parallel_for (a header template) runs everything on the calling
// thread.  For the tests.
int winograd_loop_threads();

}  // namespace rfm::kernels
