#pragma once
// The CUDA backend: collectives through NCCL on the tensors' GPU.  Rank 0
// makes the ncclUniqueId, MPI broadcasts it, every rank joins with
// ncclCommInitRank.  Built only where CMake finds NCCL (RFM_HAVE_NCCL).
//
// The collectives run on CUDA's legacy default stream, the stream
// LibTorch's kernels use unless a caller sets another: they are ordered
// after the kernels that produced their inputs and before those that read
// the result, with no host synchronisation.
//
// Gradient buckets started during backward (start_gradient_sum) go through a
// second communicator on a side stream of their own, as DDP's buckets do:
// on one communicator they would queue behind the loss's own collectives in
// backward (the triplet loss's gather, the centres' all-reduce, sync BN),
// whose order relative to the buckets differs between ranks.  Each bucket's
// side-stream all-reduce waits for an event recorded on the default stream
// when its last gradient was accumulated, and the default stream waits for
// the all-reduce's event before the optimizer reads the sums: ordered on the
// GPU, with no host synchronisation.  The side stream is non-blocking, so
// the legacy default stream does not serialise with it.

#include <memory>

#include "comm/mpi_transport.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

class NcclTransport final : public TensorTransport {
 public:
  // `device_index`: this rank's GPU (its local rank, as a rule).
  NcclTransport(MpiTransport& bootstrap, int device_index);
  ~NcclTransport() override;
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override;
  // One NCCL group: the buffers' all-reduces are fused into one launch.
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override;
  std::unique_ptr<PendingReduction> start_gradient_sum(torch::Tensor& buffer) override;
  bool overlaps_backward() const override { return true; }
  bool starts_from_any_thread() const override { return true; }
  void broadcast_in_place(torch::Tensor& tensor, int root) override;
  const char* backend_name() const override { return "nccl"; }

 private:
  struct Communicator;
  std::unique_ptr<Communicator> comm_;
  int rank_;
  int world_size_;
  int device_index_;
};

}  // namespace rfm::comm
