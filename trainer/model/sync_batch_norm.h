#pragma once
// Batch normalisation whose batch statistics can span every data-parallel
// rank.  With no collectives attached (one process, or sync BN off) it is
// torch::nn::BatchNorm{1,2}d exactly: the same kernel, the same parameter
// and buffer names, so torchvision weights and old checkpoints load as
// before.  With collectives attached, training-mode statistics are those of
// the global batch: sum and squared deviation are all-reduced (two passes,
// as one process computes them), and because the all-reduce is
// differentiable the backward pass all-reduces the statistics' gradients.

#include <memory>

#include <torch/torch.h>

#include "comm/batch_collectives.h"

namespace rfm::model {

class SyncBatchNormImpl : public torch::nn::Module {
 public:
  explicit SyncBatchNormImpl(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  // [N, C] or [N, C, H, W].
  torch::Tensor forward(const torch::Tensor& input);
  // nullptr: local statistics (plain batch norm).
  void set_collectives(std::shared_ptr<comm::BatchCollectives> collectives) { collectives_ = std::move(collectives); }
  bool synchronized() const { return collectives_ != nullptr && collectives_->world_size() > 1; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t channels_;
  double eps_, momentum_;
  std::shared_ptr<comm::BatchCollectives> collectives_;
};
TORCH_MODULE(SyncBatchNorm);

// Attaches `collectives` to every SyncBatchNorm in `module` (nullptr detaches).
int attach_batch_norm_collectives(torch::nn::Module& module, const std::shared_ptr<comm::BatchCollectives>& collectives);

}  // namespace rfm::model
