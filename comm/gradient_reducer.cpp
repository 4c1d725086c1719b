#include "comm/gradient_reducer.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace rfm::comm {
namespace {

// Runs after a leaf's AccumulateGrad has put this backward's gradient into
// .grad; the outputs pass through untouched.
class AccumulatedHook final : public torch::autograd::FunctionPostHook {
 public:
  explicit AccumulatedHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

}  // namespace

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<TensorTransport> transport,
                                 double bucket_mb, bool overlap)
    : parameters_(std::move(parameters)), transport_(std::move(transport)), owner_(std::this_thread::get_id()) {
  if (!(bucket_mb > 0)) throw std::invalid_argument("gradient bucket size must be > 0 MiB");
  const auto limit = static_cast<int64_t>(bucket_mb * 1024.0 * 1024.0);
  std::vector<size_t> current;
  int64_t bytes = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const auto& p = parameters_[k];
    // A bucket holds one dtype on one device: it is one flat tensor.
    const bool compatible = current.empty() || (parameters_[current.front()].scalar_type() == p.scalar_type() &&
                                                parameters_[current.front()].device() == p.device());
    if (!compatible || (!current.empty() && bytes + static_cast<int64_t>(p.nbytes()) > limit)) {
      buckets_.push_back(std::move(current));
      current.clear();
      bytes = 0;
    }
    current.push_back(k);
    bytes += static_cast<int64_t>(p.nbytes());
  }
  if (!current.empty()) buckets_.push_back(std::move(current));
  bucket_of_.assign(parameters_.size(), 0);
  offset_of_.assign(parameters_.size(), 0);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    size_t offset = 0;
    for (size_t k : buckets_[b]) {
      bucket_of_[k] = b;
      offset_of_[k] = offset;
      offset += static_cast<size_t>(parameters_[k].numel());
    }
  }
  allocate_buffers();
  assumed_absent_.assign(parameters_.size(), 0);
  overlap_ = overlap && transport_->overlaps_backward();
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (!parameters_[k].requires_grad()) continue;
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
    if (!accumulator) continue;
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<AccumulatedHook>([this, k] { on_accumulated(k); })));
    accumulators_.push_back(std::move(accumulator));
  }
  reset_step();
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void GradientReducer::allocate_buffers() {
  // Consecutive buckets of one dtype and device are slices of one
  // allocation, in launch order, so that a transport summing them all at
  // once (after backward, nothing left to overlap with) can send them as
  // one message: Horovod's fusion buffer, with the buckets as its parts.
  flats_.clear();
  std::vector<int64_t> sizes;
  for (const auto& bucket : buckets_) {
    int64_t n = 0;
    for (size_t k : bucket) n += parameters_[k].numel();
    sizes.push_back(n);
  }
  for (size_t first = 0; first < buckets_.size();) {
    const auto& head = parameters_[buckets_[first].front()];
    size_t last = first;
    int64_t total = 0;
    while (last < buckets_.size() && parameters_[buckets_[last].front()].scalar_type() == head.scalar_type() &&
           parameters_[buckets_[last].front()].device() == head.device()) {
      total += sizes[last++];
    }
    auto arena = torch::zeros({total}, head.options().requires_grad(false));
    int64_t offset = 0;
    for (size_t b = first; b < last; ++b) {
      flats_.push_back(arena.narrow(0, offset, sizes[b]));
      offset += sizes[b];
    }
    first = last;
  }
  // Views as plain tensors over the bucket's memory (each keeps the bucket
  // alive), not autograd views: an optimizer's zero_grad may detach_() a
  // gradient in place, which autograd refuses for views.  A dense parameter
  // (channels-last included) gets its own strides, so that accumulating
  // into it is a straight element-wise add.
  grad_views_.clear();
  for (size_t k = 0; k < parameters_.size(); ++k) {
    const auto& p = parameters_[k];
    auto flat = flats_[bucket_of_[k]];
    void* data = static_cast<char*>(flat.data_ptr()) + offset_of_[k] * flat.element_size();
    auto keep = [flat](void*) mutable { flat = torch::Tensor(); };
    grad_views_.push_back(p.is_non_overlapping_and_dense()
                              ? torch::from_blob(data, p.sizes(), p.strides(), keep, flat.options())
                              : torch::from_blob(data, p.sizes(), keep, flat.options()));
  }
}

torch::Tensor GradientReducer::slice(size_t k) const {
  return flats_[bucket_of_[k]].narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel());
}

bool GradientReducer::holds_view(size_t k) const {
  const auto& g = parameters_[k].grad();
  return g.defined() && g.data_ptr() == grad_views_[k].data_ptr() && g.strides() == grad_views_[k].strides();
}

void GradientReducer::move_into_view(size_t k) {
  if (holds_view(k)) return;
  const auto& g = parameters_[k].grad();
  if (g.defined()) {
    grad_views_[k].copy_(g);
    ++gradients_copied_;
  } else {
    grad_views_[k].zero_();
  }
  parameters_[k].mutable_grad() = grad_views_[k];
}

void GradientReducer::begin_step() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  reset_step();
  armed_ = true;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto& p = parameters_[k];
    had_grad_[k] = p.grad().defined() ? 1 : 0;
    if (overlap_ && assumed_absent_[k]) {
      slice(k).zero_();
      p.mutable_grad() = torch::Tensor();
      --missing_[bucket_of_[k]];
    } else if (!holds_view(k)) {
      // A .grad the caller zeroed (or set to none): the view, zeroed.
      grad_views_[k].zero_();
      p.mutable_grad() = grad_views_[k];
    }
  }
  if (overlap_) start_ready_buckets();
}

void GradientReducer::reset_step() {
  armed_ = false;
  ready_.assign(parameters_.size(), 0);
  had_grad_.assign(parameters_.size(), 0);
  late_param_.assign(parameters_.size(), 0);
  late_.assign(buckets_.size(), 0);
  missing_.clear();
  for (const auto& bucket : buckets_) missing_.push_back(bucket.size());
  next_bucket_ = 0;
  pending_.clear();
  started_during_backward_ = 0;
  gradients_copied_ = 0;
}

void GradientReducer::on_accumulated(size_t k) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || ready_[k]) return;
  torch::NoGradGuard no_grad;
  const size_t b = bucket_of_[k];
  ready_[k] = 1;
  if (assumed_absent_[k] && b < next_bucket_) {
    late_[b] = 1;  // its bucket is already being summed without it
    late_param_[k] = 1;
    return;
  }
  move_into_view(k);  // a no-op unless the caller replaced .grad
  if (!overlap_) return;
  if (!assumed_absent_[k]) --missing_[b];
  // MPI was opened MPI_THREAD_FUNNELED: only the opening thread may call it
  // (CPU backward runs on the caller's thread; anything else waits for
  // all_reduce_gradients).  NCCL takes calls from autograd's device thread.
  if (!transport_->starts_from_any_thread() && std::this_thread::get_id() != owner_) return;
  const size_t before = next_bucket_;
  start_ready_buckets();
  started_during_backward_ += static_cast<int64_t>(next_bucket_ - before);
  for (auto& p : pending_) p->poll();
}

void GradientReducer::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && missing_[next_bucket_] == 0) {
    pending_.push_back(transport_->start_gradient_sum(flats_[next_bucket_]));
    ++next_bucket_;
  }
}

// A late bucket was summed without some gradients that came after it
// started; every rank now sums just those (its own late ones, zeros
// elsewhere) and adds them, so the bucket ends as if nothing had been late.
void GradientReducer::add_late_gradients(const std::vector<char>& late_buckets) {
  std::vector<torch::Tensor> deltas;
  std::vector<size_t> which;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (!late_buckets[b]) continue;
    auto delta = torch::zeros_like(flats_[b]);
    for (size_t k : buckets_[b]) {
      if (late_param_[k]) {
        delta.narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel())
            .copy_(parameters_[k].grad().reshape(-1));
      }
    }
    deltas.push_back(delta);
    which.push_back(b);
  }
  if (deltas.empty()) return;
  transport_->all_reduce_sum_in_place(deltas);
  for (size_t i = 0; i < which.size(); ++i) flats_[which[i]].add_(deltas[i]);
}

void GradientReducer::all_reduce_gradients() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  // Without begin_step() this step the gradients come from .grad (moved
  // into the buckets); with it, a parameter whose hook did not fire had no
  // gradient in this backward and its part of the bucket is zero.
  const bool from_grad = !armed_;
  if (from_grad) reset_step();
  armed_ = false;
  const size_t n = parameters_.size();
  // Which parameters have a gradient on some rank: one that has none
  // anywhere stays without one, so that SGD skips it (no weight decay or
  // momentum) exactly as a single process would.  Then, per bucket, whether
  // a rank summed it without a gradient that came late.
  std::vector<float> flags(n + buckets_.size(), 0.0f);
  for (size_t k = 0; k < n; ++k) {
    const bool present = from_grad ? parameters_[k].grad().defined() : (ready_[k] || had_grad_[k]);
    flags[k] = present ? 1.0f : 0.0f;
    if (late_param_[k] || bucket_of_[k] < next_bucket_) continue;  // in flight, or beside its bucket
    if (from_grad || ready_[k]) {
      move_into_view(k);
    } else {
      slice(k).zero_();
    }
  }
  for (size_t b = 0; b < late_.size(); ++b) flags[n + b] = late_[b] ? 1.0f : 0.0f;
  auto present = torch::from_blob(flags.data(), {static_cast<int64_t>(flags.size())}, torch::kFloat32).clone();
  // Asynchronous: a copy from pageable memory is staged at once, and a
  // blocking one would wait for the whole backward queued before it.
  if (!parameters_.empty()) present = present.to(parameters_.front().device(), /*non_blocking=*/true);
  if (overlap_ && !from_grad) {
    for (size_t k = 0; k < n; ++k) assumed_absent_[k] = ready_[k] ? 0 : 1;
    std::fill(missing_.begin(), missing_.end(), 0);
    start_ready_buckets();
    pending_.push_back(transport_->start_gradient_sum(present));
    for (auto& p : pending_) p->wait();
    pending_.clear();
    // The step's one host synchronisation here: which parameters have a
    // gradient anywhere decides which .grad stay none (host state that SGD
    // reads), and which buckets need a second round.
    present = present.cpu();
    std::vector<char> late_buckets(buckets_.size(), 0);
    for (size_t b = 0; b < buckets_.size(); ++b) late_buckets[b] = present.data_ptr<float>()[n + b] != 0.0f;
    add_late_gradients(late_buckets);
  } else {
    std::vector<torch::Tensor> all = flats_;
    all.push_back(present);
    transport_->all_reduce_sum_in_place(all);
    present = present.cpu();
  }
  const float* anywhere = present.data_ptr<float>();
  for (size_t k = 0; k < n; ++k) {
    if (anywhere[k] == 0.0f) {
      parameters_[k].mutable_grad() = torch::Tensor();
    } else {
      parameters_[k].mutable_grad() = grad_views_[k];
    }
  }
}

void broadcast_module_state(torch::nn::Module& module, TensorTransport& transport, int root) {
  torch::NoGradGuard no_grad;
  auto share = [&](torch::Tensor t) {
    if (t.is_contiguous()) {
      transport.broadcast_in_place(t, root);
    } else {
      auto dense = t.contiguous();
      transport.broadcast_in_place(dense, root);
      t.copy_(dense);
    }
  };
  for (auto& p : module.parameters()) share(p);
  for (auto& b : module.buffers()) share(b);
}

}  // namespace rfm::comm
