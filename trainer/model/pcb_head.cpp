#include "trainer/model/pcb_head.h"

#include <stdexcept>

namespace rfm::model {

namespace nn = torch::nn;

PcbHeadImpl::PcbHeadImpl(const PcbHeadOptions& options) : options_(options) {
  reducers = register_module("reducers", nn::ModuleList());
  norms = register_module("norms", nn::ModuleList());
  classifiers = register_module("classifiers", nn::ModuleList());
  torch::NoGradGuard no_grad;
  for (int64_t k = 0; k < options.num_parts(); ++k) {
    nn::Linear fc(nn::LinearOptions(options.in_channels(), options.part_dim()).bias(false));
    // nn::Linear's own init is PyTorch's default (Kaiming uniform, a = sqrt(5)).
    if (options.fc_init() == PartFcInit::kKaimingFanOut) {
      nn::init::kaiming_normal_(fc->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
    SyncBatchNorm bn(options.part_dim());
    nn::Linear cls(nn::LinearOptions(options.part_dim(), options.num_classes()).bias(false));
    nn::init::normal_(cls->weight, 0.0, 0.001);  // the classifier init of PCB/BNNeck
    reducers->push_back(fc);
    norms->push_back(bn);
    classifiers->push_back(cls);
  }
}

torch::Tensor PcbHeadImpl::pool_parts(const torch::Tensor& feature) const {
  const int64_t k = options_.num_parts();
  if (feature.dim() != 4 || feature.size(2) % k != 0) {
    throw std::invalid_argument("PcbHead: feature height " + std::to_string(feature.size(2)) +
                                " is not divisible by num_parts " + std::to_string(k));
  }
  // Equal stripes: adaptive pooling to (K, 1) averages exactly H/K rows each.
  return torch::adaptive_avg_pool2d(feature, {k, 1}).squeeze(-1);
}

PcbOutput PcbHeadImpl::forward(const torch::Tensor& feature) {
  const auto parts = pool_parts(feature);
  std::vector<torch::Tensor> reduced, normalized, logits;
  for (int64_t k = 0; k < options_.num_parts(); ++k) {
    auto v = parts.select(2, k);
    auto h = reducers[k]->as<nn::Linear>()->forward(v);
    auto f = norms[k]->as<SyncBatchNormImpl>()->forward(h);
    reduced.push_back(h);
    normalized.push_back(f);
    logits.push_back(classifiers[k]->as<nn::Linear>()->forward(f));
  }
  return {torch::stack(reduced, 1), torch::stack(normalized, 1), torch::stack(logits, 0)};
}

}  // namespace rfm::model
