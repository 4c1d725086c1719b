#pragma once
// The CUDA backend: collectives through NCCL on the tensors' GPU.  Rank 0
// makes the ncclUniqueId, MPI broadcasts it, every rank joins with
// ncclCommInitRank.  Built only where CMake finds NCCL (RFM_HAVE_NCCL).
//
// NCCL runs on CUDA's legacy default stream, the stream LibTorch's kernels
// use unless a caller sets another: the collectives are ordered after the
// kernels that produced their inputs and before those that read the result,
// with no host synchronisation.

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
