#include "trainer/model/sync_batch_norm.h"

#include <stdexcept>

namespace rfm::model {

SyncBatchNormImpl::SyncBatchNormImpl(int64_t channels, double eps, double momentum)
    : channels_(channels), eps_(eps), momentum_(momentum) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kInt64));
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 2 && input.dim() != 4) {
    throw std::invalid_argument("SyncBatchNorm: expected [N, C] or [N, C, H, W], got " + std::to_string(input.dim()) +
                                " dimensions");
  }
  if (!is_training() || !synchronized()) {
    if (is_training()) {
      torch::NoGradGuard no_grad;
      num_batches_tracked += 1;
    }
    return torch::batch_norm(input, weight, bias, running_mean, running_var, is_training(), momentum_, eps_,
                             /*cudnn_enabled=*/true);
  }
  const std::vector<int64_t> dims = input.dim() == 2 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 2, 3};
  const std::vector<int64_t> shape = input.dim() == 2 ? std::vector<int64_t>{1, channels_}
                                                       : std::vector<int64_t>{1, channels_, 1, 1};
  const double local_count = input.numel() > 0 ? static_cast<double>(input.numel() / channels_) : 0.0;
  // The global count stays a tensor on the input's device: reading it on the
  // host would synchronise a GPU step once per layer.  Where it is on the
  // host anyway (CPU) a global batch too small for a variance is refused.
  const auto count =
      collectives_->all_reduce_sum(torch::full({1}, local_count, input.options().dtype(torch::kFloat64)));
  if (count.is_cpu() && count.item<double>() < 2) {
    throw std::runtime_error("SyncBatchNorm: the global batch has fewer than 2 values per channel");
  }
  const auto n = count.to(input.scalar_type());  // exact: counts are integers far below 2^24
  auto mean = collectives_->all_reduce_sum(input.sum(dims)) / n;
  auto centred = input - mean.view(shape);
  auto var = collectives_->all_reduce_sum(centred.pow(2).sum(dims)) / n;
  {
    torch::NoGradGuard no_grad;
    const auto unbiased = (count / (count - 1)).to(input.scalar_type());
    running_mean.mul_(1 - momentum_).add_(mean.detach(), momentum_);
    running_var.mul_(1 - momentum_).add_(var.detach() * unbiased, momentum_);
    num_batches_tracked += 1;
  }
  return centred * torch::rsqrt(var + eps_).view(shape) * weight.view(shape) + bias.view(shape);
}

int attach_batch_norm_collectives(torch::nn::Module& module, const std::shared_ptr<comm::BatchCollectives>& collectives) {
  int attached = 0;
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* bn = m->as<SyncBatchNormImpl>()) {
      bn->set_collectives(collectives);
      ++attached;
    }
  }
  return attached;
}

}  // namespace rfm::model
