#pragma once
// The two spatial attentions of Table V: modality-aware spatial attention
// (MAM, Eq. 7) and the plain CBAM spatial attention it is compared with.

#include <torch/torch.h>

#include "trainer/model/sync_batch_norm.h"
#include "trainer/kernels/conv3x3_policy.h"

namespace rfm::model {

enum class Reweighting { kPlain, kResidual };

// F * A (plain) or F * (1 + A) (residual); A is [N, 1, H, W].
torch::Tensor reweight(const torch::Tensor& feature, const torch::Tensor& attention, Reweighting mode);

struct ModalityAttentionOptions {
  ModalityAttentionOptions(int depth, int64_t num_classes) : depth_(depth), num_classes_(num_classes) {}
  TORCH_ARG(int, depth);
  TORCH_ARG(int64_t, num_classes);
  // For the layer4 copies (ResNetOptions::conv3x3).
  TORCH_ARG(kernels::Conv3x3Policy, conv3x3);
};

struct ModalityAttentionOutput {
  torch::Tensor attention;        // [N, 1, H, W], sigma(SAP(f_m(F^m))) placed back in batch order
  torch::Tensor visible_index;    // rows of the batch with modality 0
  torch::Tensor infrared_index;   // rows with modality 1
  torch::Tensor visible_logits;   // [N_v, classes] or undefined when N_v = 0
  torch::Tensor infrared_logits;  // [N_n, classes] or undefined when N_n = 0
};

// Eq. 7: the block-3 output F is split by modality; modality-specific copies
// of layer4 (stride 1) map F^v and F^n to high-level features; their channel
// average (SAP) and a sigmoid give the spatial map.  Each high-level feature
// is pooled and classified (L_id^v, L_id^n of Eq. 9).
class ModalityAwareAttentionImpl : public torch::nn::Module {
 public:
  explicit ModalityAwareAttentionImpl(const ModalityAttentionOptions& options);
  // modality: [N] int64, 0 visible, 1 infrared.
  ModalityAttentionOutput forward(const torch::Tensor& block3, const torch::Tensor& modality);

  torch::nn::Sequential visible_stage{nullptr}, infrared_stage{nullptr};
  SyncBatchNorm visible_bn{nullptr}, infrared_bn{nullptr};
  torch::nn::Linear visible_classifier{nullptr}, infrared_classifier{nullptr};
};
TORCH_MODULE(ModalityAwareAttention);

// CBAM spatial attention [43]: sigma(conv7x7([mean_c(F); max_c(F)])).
class SpatialAttentionImpl : public torch::nn::Module {
 public:
  SpatialAttentionImpl();
  torch::Tensor forward(const torch::Tensor& feature);  // returns A, [N, 1, H, W]
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(SpatialAttention);

}  // namespace rfm::model
