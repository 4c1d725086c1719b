#pragma once
// What the losses that couple the samples of a batch (triplet mining, the
// centre losses) need from the other data-parallel ranks.  Each loss returns
// its rank's share of the global-batch loss, so that the shares summed over
// ranks equal the loss one process computes on the whole global batch; the
// gradient reducer therefore sums (not averages) gradients over ranks, or
// averages them after the shares are multiplied by the world size.
//
// Both operations are differentiable so that the update of N ranks equals the
// update of one process: y = sum_r x_r has dL/dx_r = sum over ranks of dL_r/dy
// (backward is again an all-reduce), and the gather's backward hands each rank
// the summed gradient of its own slice (a reduce-scatter).

#include <cstdint>

#include <torch/torch.h>

namespace rfm::comm {

struct GatheredTensor {
  torch::Tensor all;       // the ranks' tensors concatenated along dim 0, rank order
  int64_t local_offset;    // where this rank's rows start in `all`
};

class BatchCollectives {
 public:
  virtual ~BatchCollectives() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Sum over ranks; the result has the input's shape on every rank.
  virtual torch::Tensor all_reduce_sum(const torch::Tensor& local) = 0;
  // Concatenation along dim 0 over ranks (row counts may differ by rank).
  virtual GatheredTensor all_gather(const torch::Tensor& local) = 0;
};

// One process: both operations are the identity.
class LocalCollectives final : public BatchCollectives {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override { return local; }
  GatheredTensor all_gather(const torch::Tensor& local) override { return {local, 0}; }
};

}  // namespace rfm::comm
