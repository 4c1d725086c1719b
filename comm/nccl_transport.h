#pragma once
// The CUDA backend: collectives through NCCL on the tensors' GPU.  Rank 0
// makes the ncclUniqueId, MPI broadcasts it, every rank joins with
// ncclCommInitRank.  Built only where LibTorch has CUDA and CMake finds NCCL
// (RFM_HAVE_NCCL).
//
// Streams and devices, as ProcessGroupNCCL does: every call runs under a
// device guard for this rank's GPU (whatever device the calling thread has
// current: autograd's device thread, a data-loading thread) and enqueues on
// LibTorch's current stream for that device, so the collectives are ordered
// after the kernels that produced their inputs and before those that read
// the result, with no host synchronisation.
//
// Gradient buckets started during backward (start_gradient_sum) go through a
// second communicator on a high-priority side stream from LibTorch's pool,
// as DDP's buckets do: on one communicator they would interleave with the
// loss's own collectives in backward (the triplet loss's gather, the
// centres' all-reduce, sync BN).  Each communicator sees its operations in
// one order on every rank (docs/DISTRIBUTED.md, "Two communicators"): the
// buckets start strictly in index order, and the loss's collectives follow
// the autograd graph, which is the same on every rank.  A bucket's
// all-reduce waits for an event recorded on the current stream when its last
// gradient was accumulated; the current stream waits for the all-reduce's
// event before the optimizer reads the sums.
//
// Failures: a watchdog thread polls both communicators' asynchronous error
// state (a peer that died, a network error); on an error it aborts both
// communicators, which unblocks every NCCL call and kernel of this rank, and
// calls on_failure with a line naming the rank and NCCL's error.  barrier()
// blocks the host until every rank has reached it, checking for errors as it
// waits.  The destructor waits (up to destroy_timeout_s) for queued work and
// destroys the communicators, or aborts them where a peer is gone, so that
// it never hangs.

#include <functional>
#include <memory>
#include <string>

#include "comm/mpi_transport.h"
#include "comm/tensor_transport.h"

namespace rfm::comm {

struct NcclOptions {
  int device_index = 0;  // this rank's GPU (its local rank, as a rule)
  // How often the watchdog asks NCCL for asynchronous errors.
  double watchdog_interval_s = 0.1;
  // How long the destructor waits for queued collectives before it aborts.
  double destroy_timeout_s = 60.0;
  // Called (from the watchdog's thread) once the communicators are aborted.
  // Default: the line to stderr, then the process exits with status 6 (a
  // rank failure), keeping every file already written.
  std::function<void(const std::string&)> on_failure;
};

class NcclTransport final : public TensorTransport {
 public:
  // The ranks of MPI's world; MPI carries rank 0's ncclUniqueId.
  NcclTransport(MpiTransport& bootstrap, NcclOptions options);
  // A world of one rank, without MPI: the whole NCCL path (both
  // communicators, the side stream, the watchdog) on one GPU, for the GPU
  // run's check of the overlapped buckets.
  static std::shared_ptr<NcclTransport> alone(NcclOptions options);
  ~NcclTransport() override;
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override;
  // Synchronises the host once: the ranks' row counts size the result.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override;
  // One NCCL group: the buffers' all-reduces are fused into one launch.
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override;
  std::unique_ptr<PendingReduction> start_gradient_sum(torch::Tensor& buffer) override;
  bool overlaps_backward() const override { return true; }
  bool starts_from_any_thread() const override { return true; }
  void broadcast_in_place(torch::Tensor& tensor, int root) override;
  void barrier() override;
  const char* backend_name() const override { return "nccl"; }

 private:
  NcclTransport(int rank, int world_size, const std::function<std::string(const std::string&)>& broadcast_from_rank0,
                NcclOptions options);
  struct State;
  std::unique_ptr<State> state_;
  int rank_;
  int world_size_;
};

}  // namespace rfm::comm
