#pragma once
// ResNet-18/34/50 with torchvision's module layout and parameter names
// (conv1, bn1, layer1..layer4, "layerN.B.downsample.0"), so a torchvision
// state dict maps onto it key for key.  No avgpool/fc: the heads pool.

#include <torch/torch.h>

#include "trainer/model/sync_batch_norm.h"
#include "trainer/kernels/conv3x3_policy.h"

namespace rfm::model {

struct ResNetOptions {
  ResNetOptions(int depth = 50) : depth_(depth) {}
  TORCH_ARG(int, depth);
  // Stride of layer4's first block: 1 keeps a 24x12 map at 384x192 (PCB).
  TORCH_ARG(int, last_stride) = 1;
  // Without layer4 the module ends at the block-3 output (MAM's block-3
  // reading, where only the modality-specific layer4 copies are used).
  TORCH_ARG(bool, with_layer4) = true;
  // Which kernel the 3x3 convolutions run on (trainer/kernels): a layer the
  // policy picks runs as Winograd whenever its input is float32 NCHW on the
  // CPU with autocast off; elsewhere LibTorch's convolution.  The
  // parameters are the same either way.
  TORCH_ARG(kernels::Conv3x3Policy, conv3x3);
};

// Channels out of stage `stage` (1..4) for a depth.
int64_t resnet_stage_channels(int depth, int stage);

// One stage (a torchvision "layerN"), freshly initialised.  Used for the
// backbone and for MAM's modality-specific copies of layer4.
torch::nn::Sequential make_resnet_stage(int depth, int stage, int64_t stride, const kernels::Conv3x3Policy& conv3x3);

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options);

  torch::Tensor forward_to_layer3(const torch::Tensor& x);
  // layer4 output, or the layer3 output when built without layer4.
  torch::Tensor forward(const torch::Tensor& x);

  const ResNetOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};

 private:
  ResNetOptions options_;
};
TORCH_MODULE(ResNet);

// Copies every parameter and buffer of `source` into `target` (same structure).
void copy_module_state(const torch::nn::Module& source, torch::nn::Module& target);

}  // namespace rfm::model
