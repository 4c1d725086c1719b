#pragma once
// The CPU backend: collectives over MPI_COMM_WORLD.  Tensors must be on the
// CPU; float32/64, int32/64 and uint8 travel as themselves.

#include "comm/mpi_session.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

class MpiTransport final : public TensorTransport {
 public:
  explicit MpiTransport(const MpiSession& session);
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override;
  // Non-blocking all-reduces of every buffer, then one wait: the buffers'
  // transfers overlap.
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override;
  void broadcast_in_place(torch::Tensor& tensor, int root) override;
  const char* backend_name() const override { return "mpi"; }

  // Raw bytes from root to everyone (configuration hashes, NCCL's id).
  std::string broadcast_bytes(const std::string& bytes, int root);
  void barrier();

 private:
  int rank_;
  int world_size_;
};

}  // namespace rfm::comm
