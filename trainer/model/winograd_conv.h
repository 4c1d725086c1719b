#pragma once
// A 3x3 convolution (stride 1, padding 1, no bias) by Winograd's minimal
// filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016), for float32 on the CPU.
//
// Why: on a CPU the oneDNN kernels LibTorch calls run the 3x3 convolutions
// of a ReID-sized ResNet (small maps: 8x4 to 32x16 at 128x64, 24x12 at
// 384x192) at about half the machine's float32 rate, and those layers are
// most of a training step.  F(2x2, 3x3) needs 16 multiplications for each
// 2x2 output tile where the direct convolution needs 36, and its 16
// independent products are plain matrix products, which the BLAS runs near
// the machine's rate.  Forward, input gradient and weight gradient all
// become 16 products of the same sizes.  cuDNN makes the same choice by
// itself on a GPU, so there the direct path stays.

#include <torch/torch.h>

namespace rfm::model {

// y = conv2d(input, weight, stride 1, padding 1) for input [N, C, H, W] and
// weight [K, C, 3, 3], both float32 on the CPU; differentiable in both.
// Agrees with the direct convolution to float32 rounding: the tests hold
// forward and both gradients within 1e-5 (relative to the largest value)
// of a float64 direct convolution.
torch::Tensor winograd_conv3x3(const torch::Tensor& input, const torch::Tensor& weight);

// Whether winograd_conv3x3(input, weight) computes what the direct
// convolution would for these tensors: a 3x3 weight, float32 NCHW
// (contiguous) on the CPU, and autocast off there (under autocast the
// direct convolution would run in bfloat16), and a non-empty batch.  The
// layer's own geometry (stride 1, padding 1, no bias, no groups) is the
// caller's to know.
bool winograd_applicable(const torch::Tensor& input, const torch::Tensor& weight);

}  // namespace rfm::model
