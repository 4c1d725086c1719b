#pragma once
// Raw collectives: move tensors between ranks, no autograd.  The MPI (CPU)
// and NCCL (CUDA) backends implement this; DifferentiableCollectives turns
// any transport into the BatchCollectives the losses use.

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "comm/batch_collectives.h"

namespace rfm::comm {

// A sum over ranks in flight (TensorTransport::start_gradient_sum).
class PendingReduction {
 public:
  virtual ~PendingReduction() = default;
  // Drives the transfer without blocking (MPI progresses only inside its
  // calls); true once the buffer holds the sum.
  virtual bool poll() = 0;
  virtual void wait() = 0;
};

class TensorTransport {
 public:
  virtual ~TensorTransport() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Element-wise sum over ranks (same shape on every rank).
  virtual torch::Tensor all_reduce_sum(const torch::Tensor& local) = 0;
  // Every rank's tensor, in rank order (dim 0 may differ between ranks).
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& local) = 0;
  // Sums each contiguous buffer over ranks in place.  Backends that can
  // overlap the buffers' transfers (MPI's non-blocking all-reduce, an NCCL
  // group) do; the gradient buckets come through here.
  virtual void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers);
  // Starts summing one contiguous gradient bucket in place; returns at once
  // where the backend can (the default finishes first).  Every rank starts
  // the same buckets in the same order; the buffer is not touched until
  // wait().
  virtual std::unique_ptr<PendingReduction> start_gradient_sum(torch::Tensor& buffer);
  // Whether buckets may be started during backward: their order relative
  // to the loss's own collectives in backward then differs between ranks,
  // so the backend must carry them on a channel of their own (MPI: a
  // duplicate communicator; NCCL: a second communicator on a side stream).
  virtual bool overlaps_backward() const { return false; }
  // Whether start_gradient_sum may be called from any thread, not only the
  // one that opened the transport.  Backward's hooks run on autograd's
  // device thread for CUDA tensors: NCCL takes calls from it, MPI opened
  // MPI_THREAD_FUNNELED does not (its buckets start from hooks only where
  // backward runs on the opening thread, as CPU backward does).
  virtual bool starts_from_any_thread() const { return false; }
  // Overwrites `tensor` (contiguous, same shape everywhere) with root's.
  virtual void broadcast_in_place(torch::Tensor& tensor, int root);
  // Returns on each rank only once every rank has called it: the host
  // blocks (a queued collective alone would not hold a CUDA rank back).  The
  // default sums a CPU zero, which the CPU transports finish before
  // returning.
  virtual void barrier();
  // Name for logs and errors: "mpi", "nccl", "in-process".
  virtual const char* backend_name() const = 0;
};

// BatchCollectives whose operations carry gradients across ranks: the
// backward of an all-reduce is an all-reduce of the gradient; the backward
// of a gather hands each rank the summed gradient of its own rows.  Every
// rank must call backward on its share (the collectives in backward pair up
// like those in forward).
class DifferentiableCollectives final : public BatchCollectives {
 public:
  explicit DifferentiableCollectives(std::shared_ptr<TensorTransport> transport);
  int rank() const override;
  int world_size() const override;
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  GatheredTensor all_gather(const torch::Tensor& local) override;

 private:
  std::shared_ptr<TensorTransport> transport_;
};

}  // namespace rfm::comm
