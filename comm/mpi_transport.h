#pragma once
// The CPU backend: collectives over MPI_COMM_WORLD.  Tensors must be on the
// CPU; float32/64, int32/64 and uint8 travel as themselves.

#include <mpi.h>

#include "comm/mpi_session.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

class MpiTransport final : public TensorTransport {
 public:
  explicit MpiTransport(const MpiSession& session);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override;
  // Blocking all-reduces of the buffers, one after another (faster here
  // than non-blocking ones with nothing to overlap).
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override;
  void broadcast_in_place(torch::Tensor& tensor, int root) override;
  void barrier() override;
  // MPI_Iallreduce on a duplicate of MPI_COMM_WORLD: gradient buckets
  // started during backward never pair with the loss's collectives.
  std::unique_ptr<PendingReduction> start_gradient_sum(torch::Tensor& buffer) override;
  bool overlaps_backward() const override { return true; }
  const char* backend_name() const override { return "mpi"; }

  // Raw bytes from root to everyone (configuration hashes, NCCL's id).
  std::string broadcast_bytes(const std::string& bytes, int root);

 private:
  int rank_;
  int world_size_;
  MPI_Comm gradient_comm_ = MPI_COMM_NULL;
};

}  // namespace rfm::comm
