#include "trainer/model/spatial_attention.h"

#include "trainer/model/resnet.h"

namespace rfm::model {

namespace nn = torch::nn;

torch::Tensor reweight(const torch::Tensor& feature, const torch::Tensor& attention, Reweighting mode) {
  return mode == Reweighting::kPlain ? feature * attention : feature * (attention + 1.0);
}

ModalityAwareAttentionImpl::ModalityAwareAttentionImpl(const ModalityAttentionOptions& options) {
  visible_stage = register_module("visible_stage", make_resnet_stage(options.depth(), 4, 1, options.conv3x3()));
  infrared_stage = register_module("infrared_stage", make_resnet_stage(options.depth(), 4, 1, options.conv3x3()));
  const int64_t channels = resnet_stage_channels(options.depth(), 4);
  visible_bn = register_module("visible_bn", SyncBatchNorm(channels));
  infrared_bn = register_module("infrared_bn", SyncBatchNorm(channels));
  visible_classifier = register_module(
      "visible_classifier", nn::Linear(nn::LinearOptions(channels, options.num_classes()).bias(false)));
  infrared_classifier = register_module(
      "infrared_classifier", nn::Linear(nn::LinearOptions(channels, options.num_classes()).bias(false)));
  torch::NoGradGuard no_grad;
  nn::init::normal_(visible_classifier->weight, 0.0, 0.001);
  nn::init::normal_(infrared_classifier->weight, 0.0, 0.001);
  // The modality copies start equal, as layer4 copies of one pretrained net.
  copy_module_state(*visible_stage, *infrared_stage);
}

ModalityAttentionOutput ModalityAwareAttentionImpl::forward(const torch::Tensor& block3, const torch::Tensor& modality) {
  ModalityAttentionOutput out;
  // The rows of each modality, found on the host: nonzero() of a GPU tensor
  // waits for the GPU (its result's size is data).  The trainer hands the
  // loader's modality over as it came, on the host; the indices then go to
  // the GPU behind the work already queued.
  const auto on_host = modality.to(torch::kCPU);
  auto rows_of = [&](int64_t m) {
    return (on_host == m).nonzero().squeeze(1).to(block3.device(), /*non_blocking=*/true);
  };
  out.visible_index = rows_of(0);
  out.infrared_index = rows_of(1);
  out.attention = torch::zeros({block3.size(0), 1, block3.size(2), block3.size(3)}, block3.options());

  auto branch = [&](const torch::Tensor& index, nn::Sequential& stage, SyncBatchNorm& bn, nn::Linear& classifier) {
    // Synchronised BN needs every rank in the collective, rows or not.
    if (index.numel() == 0 && !bn->synchronized()) return torch::Tensor();
    auto high = stage->forward(block3.index_select(0, index));
    auto att = torch::sigmoid(high.mean(1, /*keepdim=*/true));
    out.attention = out.attention.index_copy(0, index, att);
    auto pooled = high.mean({2, 3});
    return classifier->forward(bn->forward(pooled));
  };
  out.visible_logits = branch(out.visible_index, visible_stage, visible_bn, visible_classifier);
  out.infrared_logits = branch(out.infrared_index, infrared_stage, infrared_bn, infrared_classifier);
  return out;
}

SpatialAttentionImpl::SpatialAttentionImpl() {
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(2, 1, 7).padding(3).bias(false)));
}

torch::Tensor SpatialAttentionImpl::forward(const torch::Tensor& feature) {
  auto pooled = torch::cat({feature.mean(1, true), std::get<0>(feature.max(1, true))}, 1);
  return torch::sigmoid(conv->forward(pooled));
}

}  // namespace rfm::model
