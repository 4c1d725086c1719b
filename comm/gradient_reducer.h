#pragma once
// Data-parallel gradient exchange: the parameters' gradients are grouped into
// flat buckets of about `bucket_mb` MiB (in reverse registration order, the
// order backward produces them, as DDP and Horovod's fusion buffer do), and
// every bucket is summed over ranks in one call per bucket; the backend
// overlaps the buckets' transfers (MPI non-blocking all-reduce, one NCCL
// group).  Sum, not average: the losses already return each rank's share of
// the global-batch loss (comm/batch_collectives.h), so the summed gradient is
// the global batch's gradient.

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "comm/tensor_transport.h"

namespace rfm::comm {

class GradientReducer {
 public:
  GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<TensorTransport> transport, double bucket_mb);

  // After backward on every rank: each parameter's .grad() becomes the sum
  // over ranks.  A parameter without a gradient on this rank counts as zero
  // (and gets a zero gradient when another rank has one).
  void all_reduce_gradients();

  // Parameter indices of each bucket, in launch order.
  const std::vector<std::vector<size_t>>& buckets() const { return buckets_; }

 private:
  std::vector<torch::Tensor> parameters_;
  std::shared_ptr<TensorTransport> transport_;
  std::vector<std::vector<size_t>> buckets_;
};

// Overwrites every parameter and buffer of `module` with rank `root`'s, so
// that all ranks start from one state whatever their seeds did.
void broadcast_module_state(torch::nn::Module& module, TensorTransport& transport, int root = 0);

}  // namespace rfm::comm
