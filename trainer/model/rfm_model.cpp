#include "trainer/model/rfm_model.h"

namespace rfm::model {

namespace {
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

RfmModelImpl::RfmModelImpl(const RfmModelOptions& options) : options_(options) {
  const bool mam_on = options.attention() == AttentionKind::kModalityAware;
  const bool block3_parts = mam_on && options.part_source() == PartSource::kBlock3;
  // With MAM on the block-3 reading, nothing uses a shared layer4: leaving it
  // out keeps every parameter in the graph (no unused gradients to reduce).
  backbone = register_module(
      "backbone", ResNet(ResNetOptions(options.depth())
                                  .last_stride(options.last_stride())
                                  .with_layer4(!block3_parts)
                                  .conv3x3(options.conv3x3())));
  if (mam_on) {
    mam = register_module("mam", ModalityAwareAttention(ModalityAttentionOptions(options.depth(), options.num_classes())
                                                            .conv3x3(options.conv3x3())));
  } else if (options.attention() == AttentionKind::kSpatial) {
    spatial = register_module("spatial", SpatialAttention());
  }
  const int64_t channels = resnet_stage_channels(options.depth(), block3_parts ? 3 : 4);
  head = register_module("head", PcbHead(PcbHeadOptions(channels, options.num_classes())
                                             .num_parts(options.num_parts())
                                             .part_dim(options.part_dim())
                                             .fc_init(options.part_fc_init())));
}

torch::Tensor RfmModelImpl::part_feature_map(const torch::Tensor& images, const torch::Tensor& modality,
                                             ModalityAttentionOutput* mam_out) {
  auto block3 = backbone->forward_to_layer3(images);
  switch (options_.attention()) {
    case AttentionKind::kNone:
      return backbone->layer4->forward(block3);
    case AttentionKind::kSpatial: {
      auto f = backbone->layer4->forward(block3);
      return f * spatial->forward(f);
    }
    case AttentionKind::kModalityAware: {
      auto out = mam->forward(block3, modality);
      auto base = options_.part_source() == PartSource::kBlock3 ? block3 : backbone->layer4->forward(block3);
      auto reweighted = reweight(base, out.attention, options_.reweighting());
      if (mam_out != nullptr) *mam_out = std::move(out);
      return reweighted;
    }
  }
  return {};
}

RfmOutput RfmModelImpl::forward(const torch::Tensor& images, const torch::Tensor& modality) {
  ModalityAttentionOutput mam_out;
  auto feature = part_feature_map(images, modality, &mam_out);
  auto parts = head->forward(feature);
  RfmOutput out;
  out.metric_features = options_.metric_before_bn() ? parts.reduced : parts.normalized;
  out.part_logits = parts.logits;
  out.embedding = parts.normalized.flatten(1);
  out.visible_index = mam_out.visible_index;
  out.infrared_index = mam_out.infrared_index;
  out.visible_logits = mam_out.visible_logits;
  out.infrared_logits = mam_out.infrared_logits;
  out.attention = mam_out.attention;
  return out;
}

std::vector<std::string> RfmModelImpl::pretrained_targets(const std::string& key) const {
  std::vector<std::string> targets;
  const bool is_layer4 = starts_with(key, "layer4.");
  if (!is_layer4 || backbone->layer4) targets.push_back("backbone." + key);
  if (is_layer4 && mam) {
    const std::string rest = key.substr(std::string("layer4.").size());
    targets.push_back("mam.visible_stage." + rest);
    targets.push_back("mam.infrared_stage." + rest);
  }
  if (starts_with(key, "fc.")) targets.clear();
  return targets;
}

bool RfmModelImpl::is_pretrained_tensor(const std::string& name) const {
  return starts_with(name, "backbone.") || starts_with(name, "mam.visible_stage.") ||
         starts_with(name, "mam.infrared_stage.");
}

RfmOutput to_float32(const RfmOutput& out) {
  auto f32 = [](const torch::Tensor& t) {
    return t.defined() && t.is_floating_point() ? t.to(torch::kFloat32) : t;
  };
  RfmOutput r = out;
  r.metric_features = f32(out.metric_features);
  r.part_logits = f32(out.part_logits);
  r.embedding = f32(out.embedding);
  r.visible_logits = f32(out.visible_logits);
  r.infrared_logits = f32(out.infrared_logits);
  r.attention = f32(out.attention);
  return r;
}

}  // namespace rfm::model
