#pragma once
// The RFM network (Fig. 4): a single-path ResNet, optional spatial attention
// (MAM or CBAM), and the PCB part head.  docs/MODEL.md explains each choice.

#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/model/pcb_head.h"
#include "trainer/model/resnet.h"
#include "trainer/model/spatial_attention.h"

namespace rfm::model {

enum class AttentionKind { kNone, kModalityAware, kSpatial };
enum class PartSource { kBlock3, kSharedBlock4 };

struct RfmModelOptions {
  RfmModelOptions(int depth = 50, int64_t num_classes = 395) : depth_(depth), num_classes_(num_classes) {}
  TORCH_ARG(int, depth);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int, last_stride) = 1;
  TORCH_ARG(int64_t, num_parts) = 12;
  TORCH_ARG(int64_t, part_dim) = 256;
  TORCH_ARG(AttentionKind, attention) = AttentionKind::kModalityAware;
  TORCH_ARG(PartSource, part_source) = PartSource::kBlock3;
  TORCH_ARG(Reweighting, reweighting) = Reweighting::kPlain;
  // true: triplet and centre losses act on FC(v) rather than BN(FC(v)).
  TORCH_ARG(bool, metric_before_bn) = false;
  TORCH_ARG(PartFcInit, part_fc_init) = PartFcInit::kPyTorchDefault;
  // The kernel of the backbone's and MAM's 3x3 convolutions
  // (ResNetOptions::conv3x3).
  TORCH_ARG(kernels::Conv3x3Policy, conv3x3);
};

struct RfmOutput {
  torch::Tensor metric_features;  // [N, K, D] what the triplet and centre losses constrain
  torch::Tensor part_logits;      // [K, N, classes]
  torch::Tensor embedding;        // [N, K*D] retrieval embedding (BN part features)
  // MAM only (undefined otherwise, or when a modality is absent):
  torch::Tensor visible_index, infrared_index, visible_logits, infrared_logits, attention;
};

// `out` with every floating tensor as float32 (what autocast left in
// bfloat16/float16); the casts are differentiable.
RfmOutput to_float32(const RfmOutput& out);

class RfmModelImpl : public torch::nn::Module {
 public:
  explicit RfmModelImpl(const RfmModelOptions& options);

  // images: [N, 3, H, W] normalised; modality: [N] int64 (0 visible, 1 infrared).
  RfmOutput forward(const torch::Tensor& images, const torch::Tensor& modality);

  // The feature map the parts are pooled from (after attention), [N, C, Hf, Wf].
  torch::Tensor part_feature_map(const torch::Tensor& images, const torch::Tensor& modality,
                                 ModalityAttentionOutput* mam_out = nullptr);

  // For each key of a torchvision ResNet state dict, the names of this
  // model's tensors it initialises: backbone.* and, with MAM, layer4.* also
  // into both modality stages.  Empty for keys this model does not use.
  std::vector<std::string> pretrained_targets(const std::string& torchvision_key) const;
  // Whether a tensor of this model must come from the pretrained file.
  bool is_pretrained_tensor(const std::string& name) const;

  const RfmModelOptions& options() const { return options_; }

  ResNet backbone{nullptr};
  ModalityAwareAttention mam{nullptr};
  SpatialAttention spatial{nullptr};
  PcbHead head{nullptr};

 private:
  RfmModelOptions options_;
};
TORCH_MODULE(RfmModel);

}  // namespace rfm::model
