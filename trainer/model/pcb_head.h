#pragma once
// PCB part head (Section IV-A): K horizontal stripes of a feature map, global
// average pooling per stripe, a per-part FC that reduces the dimension with
// BN, and a per-part identity classifier.

#include <vector>

#include <torch/torch.h>

#include "trainer/model/sync_batch_norm.h"

namespace rfm::model {

// How each part's reduction FC starts (config model.part_fc_init).
enum class PartFcInit { kPyTorchDefault, kKaimingFanOut };

struct PcbHeadOptions {
  PcbHeadOptions(int64_t in_channels, int64_t num_classes) : in_channels_(in_channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, num_parts) = 12;
  TORCH_ARG(int64_t, part_dim) = 256;
  TORCH_ARG(PartFcInit, fc_init) = PartFcInit::kPyTorchDefault;
};

struct PcbOutput {
  torch::Tensor reduced;     // [N, K, D] FC(v_k), before BN
  torch::Tensor normalized;  // [N, K, D] BN(FC(v_k)): classifier input and retrieval embedding
  torch::Tensor logits;      // [K, N, num_classes]
};

class PcbHeadImpl : public torch::nn::Module {
 public:
  explicit PcbHeadImpl(const PcbHeadOptions& options);
  // feature: [N, C, H, W] with H divisible by K.
  PcbOutput forward(const torch::Tensor& feature);

  const PcbHeadOptions& options() const { return options_; }

 private:
  torch::Tensor pool_parts(const torch::Tensor& feature) const;  // [N, C, K]
  PcbHeadOptions options_;
  torch::nn::ModuleList reducers{nullptr};     // per part: Linear(C, D, no bias)
  torch::nn::ModuleList norms{nullptr};        // per part: BatchNorm1d(D)
  torch::nn::ModuleList classifiers{nullptr};  // per part: Linear(D, classes, no bias)
};
TORCH_MODULE(PcbHead);

}  // namespace rfm::model
