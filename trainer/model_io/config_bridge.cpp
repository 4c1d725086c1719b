#include "trainer/model_io/config_bridge.h"

namespace rfm::model_io {

namespace {
kernels::WinogradTile winograd_tile(config::CpuKernelsConfig::WinogradTile tile) {
  switch (tile) {
    case config::CpuKernelsConfig::WINOGRAD_2X2: return kernels::WinogradTile::k2x2;
    case config::CpuKernelsConfig::WINOGRAD_4X4: return kernels::WinogradTile::k4x4;
    case config::CpuKernelsConfig::WINOGRAD_AUTO: break;
  }
  return kernels::WinogradTile::kAuto;
}
}  // namespace

model::RfmModelOptions model_options(const config::RunConfig& config) {
  const auto& m = config.model();
  using MC = config::ModelConfig;
  model::AttentionKind attention = model::AttentionKind::kNone;
  if (m.attention() == MC::MAM) attention = model::AttentionKind::kModalityAware;
  if (m.attention() == MC::SPATIAL) attention = model::AttentionKind::kSpatial;
  return model::RfmModelOptions(m.depth(), m.num_classes())
      .last_stride(m.last_stride())
      .num_parts(m.num_parts())
      .part_dim(m.part_dim())
      .attention(attention)
      .part_source(m.mam_part_source() == MC::BLOCK3 ? model::PartSource::kBlock3 : model::PartSource::kSharedBlock4)
      .reweighting(m.mam_reweighting() == MC::PLAIN ? model::Reweighting::kPlain : model::Reweighting::kResidual)
      .metric_before_bn(m.metric_feature() == MC::BEFORE_BN)
      .part_fc_init(m.part_fc_init() == MC::KAIMING_FAN_OUT ? model::PartFcInit::kKaimingFanOut
                                                            : model::PartFcInit::kPyTorchDefault)
      .conv3x3(conv3x3_policy(config.cpu_kernels()));
}

kernels::Conv3x3Policy conv3x3_policy(const config::CpuKernelsConfig& cpu_kernels) {
  kernels::Conv3x3Policy policy;
  policy.winograd_min_channels = cpu_kernels.winograd_min_channels();
  policy.winograd_tile = winograd_tile(cpu_kernels.winograd_tile());
  return policy;
}

augment::LtgOptions ltg_options(const config::LtgConfig& l) {
  augment::LtgOptions o;
  o.probability = l.probability();
  o.area_min = l.area_min();
  o.area_max = l.area_max();
  o.aspect_min = l.aspect_min();
  o.t_min = l.t_min();
  switch (l.factor()) {
    case config::LtgConfig::BETA: o.factor = augment::FactorDistribution::kBeta; break;
    case config::LtgConfig::UNIFORM: o.factor = augment::FactorDistribution::kUniform; break;
    case config::LtgConfig::CONSTANT: o.factor = augment::FactorDistribution::kConstant; break;
  }
  o.beta_a = l.beta_a();
  o.beta_b = l.beta_b();
  o.constant = l.constant();
  o.max_rectangles = l.max_rectangles();
  o.max_attempts = l.max_attempts();
  return o;
}

loss::RfmLossOptions loss_options(const config::LossConfig& l) {
  loss::RfmLossOptions o;
  o.label_smoothing = l.label_smoothing();
  o.triplet = l.triplet();
  o.triplet_margin = l.triplet_margin();
  switch (l.center_loss()) {
    case config::LossConfig::NO_CENTER_LOSS: o.centre = loss::CentreLossKind::kNone; break;
    case config::LossConfig::CROSS_CENTER: o.centre = loss::CentreLossKind::kCrossCenter; break;
    case config::LossConfig::CENTER: o.centre = loss::CentreLossKind::kCenter; break;
    case config::LossConfig::HETERO_CENTER: o.centre = loss::CentreLossKind::kHeteroCenter; break;
  }
  o.centre_weight = l.center_weight();
  o.centre_options.distance = l.center_distance() == config::LossConfig::EUCLIDEAN ? loss::Distance::kEuclidean
                                                                                   : loss::Distance::kSquaredEuclidean;
  o.centre_options.normalize_by_batch = l.center_normalize_by_batch();
  o.centre_options.detach_centres = l.detach_centers();
  o.modality_id_weight = l.modality_id_weight();
  return o;
}

}  // namespace rfm::model_io
