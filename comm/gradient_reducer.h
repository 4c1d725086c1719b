#pragma once
// Data-parallel gradient exchange: the parameters' gradients are grouped into
// flat buckets of about `bucket_mb` MiB (in reverse registration order, the
// order backward produces them, as DDP and Horovod's fusion buffer do), and
// every bucket is summed over ranks.  On backends that allow it (MPI, NCCL)
// a bucket's sum starts during backward, as soon as its last gradient is
// ready, and runs while backward computes the earlier layers' gradients;
// elsewhere (or with overlap off) the buckets start right after backward.
// Sum, not average: the losses already return each rank's share of the
// global-batch loss (comm/batch_collectives.h), so the summed gradient is the
// global batch's gradient.
//
// Each parameter's .grad is a view into its bucket (DDP's
// gradient_as_bucket_view): backward accumulates straight into the buckets
// and the optimizer reads the sums where they were reduced, with no copy in
// or out (copies cost a measurable share on top of a raw all-reduce of the
// same bytes: bench/results/JOURNAL.md).  A .grad that is not the view (a caller who set it
// to none, or replaced it) is copied in once and replaced by the view.
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <torch/torch.h>
#include <torch/csrc/autograd/function.h>

#include "comm/tensor_transport.h"

namespace rfm::comm {

class GradientReducer {
 public:
  // overlap: start each bucket's sum as soon as backward has produced all of
  // its gradients (tensor hooks), where the transport allows it
  // (overlaps_backward()); otherwise every bucket starts after backward.
  GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<TensorTransport> transport, double bucket_mb,
                  bool overlap = true);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward, after the gradients were zeroed: arms the hooks for
  // this step and points every .grad at its bucket view (without it, a
  // backward pass, e.g. in a test, leaves the buckets alone and
  // all_reduce_gradients() takes the gradients from .grad).
  void begin_step();
  // After backward on every rank: each parameter's .grad() becomes the sum
  // over ranks.  A parameter without a gradient on this rank counts as zero
  // (and gets a zero gradient when another rank has one).
  void all_reduce_gradients();

  // Parameter indices of each bucket, in launch order.
  const std::vector<std::vector<size_t>>& buckets() const { return buckets_; }
  // Whether buckets start during backward.
  bool overlapping() const { return overlap_; }
  // Buckets of the last step that started before backward returned.
  int64_t started_during_backward() const { return started_during_backward_; }
  // Gradients of the last step that were copied into their buckets because
  // .grad was not the bucket view (0 when backward accumulated in place).
  int64_t gradients_copied() const { return gradients_copied_; }

 private:
  void on_accumulated(size_t k);
  void start_ready_buckets();
  void reset_step();
  void allocate_buffers();
  bool holds_view(size_t k) const;
  // Makes .grad the bucket view, copying a .grad held elsewhere into it
  // (zeros when there is none).
  void move_into_view(size_t k);
  torch::Tensor slice(size_t k) const;
  void add_late_gradients(const std::vector<char>& late_buckets);

  std::vector<torch::Tensor> parameters_;
  std::shared_ptr<TensorTransport> transport_;
  std::vector<std::vector<size_t>> buckets_;
  std::vector<size_t> bucket_of_, offset_of_;  // per parameter
  std::vector<torch::Tensor> flats_;            // one buffer per bucket, reused
  std::vector<torch::Tensor> grad_views_;       // per parameter: its part of its bucket, shaped like it
  bool overlap_ = false;
  std::thread::id owner_;
  // The hooks run on whichever thread autograd runs a leaf's accumulation
  // on: its device thread for CUDA, the caller's for the CPU, both in one
  // backward where parameters live on both.  Everything below is this
  // step's state, read and written under the lock.
  std::mutex mutex_;
  // Hooks run after a leaf's gradient is accumulated into .grad (once per
  // backward however often the graph used the leaf); the accumulators are
  // held so that the hooks stay attached.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
  // This step:
  bool armed_ = false;
  std::vector<char> ready_;       // per parameter: its gradient is in its bucket (or came late)
  std::vector<char> had_grad_;    // per parameter: .grad was defined at begin_step (the caller's state)
  // Per parameter: no gradient in the last step, so its bucket does not
  // wait for one (a graph that skips a layer would otherwise hold back every
  // later bucket); its .grad is detached from the bucket for the step, so a
  // gradient that comes after its bucket started lands beside it (late) and
  // is summed in a second round.
  std::vector<char> assumed_absent_;
  std::vector<char> late_param_;  // per parameter
  std::vector<char> late_;        // per bucket
  std::vector<size_t> missing_;   // per bucket: gradients still to come
  size_t next_bucket_ = 0;        // buckets start strictly in order
  std::vector<std::unique_ptr<PendingReduction>> pending_;
  int64_t started_during_backward_ = 0;
  int64_t gradients_copied_ = 0;
};

// Overwrites every parameter and buffer of `module` with rank `root`'s, so
// that all ranks start from one state whatever their seeds did.
void broadcast_module_state(torch::nn::Module& module, TensorTransport& transport, int root = 0);

}  // namespace rfm::comm
