#include "comm/gradient_reducer.h"

#include <algorithm>
#include <stdexcept>

namespace rfm::comm {

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
  if (overlap_) {
    // A leaf's hook sees its whole gradient once per backward (before it is
    // accumulated into .grad), however many times the graph used it.
    for (size_t k = 0; k < parameters_.size(); ++k) {
      if (!parameters_[k].requires_grad()) continue;
      hook_handles_.push_back(
          parameters_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
    }
  }
}

GradientReducer::~GradientReducer() {
  size_t h = 0;
  for (size_t k = 0; k < parameters_.size() && h < hook_handles_.size(); ++k) {
    if (parameters_[k].requires_grad()) parameters_[k].remove_hook(hook_handles_[h++]);
  }
}

void GradientReducer::allocate_buffers() {
  flats_.clear();
  for (const auto& bucket : buckets_) {
    int64_t n = 0;
    for (size_t k : bucket) n += parameters_[k].numel();
    flats_.push_back(torch::zeros({n}, parameters_[bucket.front()].options().requires_grad(false)));
  }
}

void GradientReducer::begin_step() {
  reset_step();
  armed_ = true;
  if (!overlap_) return;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (!assumed_absent_[k]) continue;
    flats_[bucket_of_[k]].narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel()).zero_();
    --missing_[bucket_of_[k]];
  }
  start_ready_buckets();
}

void GradientReducer::reset_step() {
  armed_ = false;
  ready_.assign(parameters_.size(), 0);
  late_.assign(buckets_.size(), 0);
  missing_.clear();
  for (const auto& bucket : buckets_) missing_.push_back(bucket.size());
  next_bucket_ = 0;
  pending_.clear();
  started_during_backward_ = 0;
}

void GradientReducer::on_gradient(size_t k, const torch::Tensor& grad) {
  if (!armed_ || ready_[k]) return;
  const size_t b = bucket_of_[k];
  ready_[k] = 1;
  if (assumed_absent_[k] && b < next_bucket_) {
    late_[b] = 1;  // its bucket is already being summed without it
    return;
  }
  flats_[b].narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel()).copy_(grad.reshape(-1));
  if (!assumed_absent_[k]) --missing_[b];
  // MPI was opened MPI_THREAD_FUNNELED: only the opening thread may call it
  // (CPU backward runs on the caller's thread; anything else waits for
  // all_reduce_gradients).
  if (std::this_thread::get_id() != owner_) return;
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

void GradientReducer::all_reduce_gradients() {
  torch::NoGradGuard no_grad;
  // Without hooks this step (no overlap, or begin_step() not called) the
  // gradients come from .grad; with them, a parameter whose hook did not
  // fire had no gradient in this backward and counts as zero.
  const bool from_grad = !overlap_ || !armed_;
  if (from_grad) reset_step();
  armed_ = false;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    // Started buckets are in flight (their absent parameters were zeroed).
    if (ready_[k] || bucket_of_[k] < next_bucket_) continue;
    const auto& g = parameters_[k].grad();
    auto slice = flats_[bucket_of_[k]].narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel());
    if (from_grad && g.defined()) {
      slice.copy_(g.reshape(-1));
    } else {
      slice.zero_();
    }
  }
  // Which parameters have a gradient on some rank: one that has none
  // anywhere stays without one, so that SGD skips it (no weight decay or
  // momentum) exactly as a single process would.  Then, per bucket, whether
  // a rank summed it without a gradient that came late.
  const size_t n = parameters_.size();
  std::vector<float> flags(n + buckets_.size(), 0.0f);
  for (size_t k = 0; k < n; ++k) flags[k] = (ready_[k] || parameters_[k].grad().defined()) ? 1.0f : 0.0f;
  for (size_t b = 0; b < late_.size(); ++b) flags[n + b] = late_[b] ? 1.0f : 0.0f;
  auto present = torch::from_blob(flags.data(), {static_cast<int64_t>(flags.size())}, torch::kFloat32).clone();
  if (!parameters_.empty()) present = present.to(parameters_.front().device());
  if (!from_grad) {
    for (size_t k = 0; k < n; ++k) assumed_absent_[k] = ready_[k] ? 0 : 1;
    std::fill(missing_.begin(), missing_.end(), 0);
    start_ready_buckets();
    pending_.push_back(transport_->start_gradient_sum(present));
    for (auto& p : pending_) p->wait();
    pending_.clear();
    auto late = present.narrow(0, static_cast<int64_t>(n), static_cast<int64_t>(buckets_.size())).cpu();
    std::vector<torch::Tensor> again;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      if (late.data_ptr<float>()[b] == 0.0f) continue;
      // Every rank redoes the same buckets, from the local gradients that
      // backward left in .grad.
      for (size_t k : buckets_[b]) {
        const auto& g = parameters_[k].grad();
        auto slice = flats_[b].narrow(0, static_cast<int64_t>(offset_of_[k]), parameters_[k].numel());
        if (g.defined()) {
          slice.copy_(g.reshape(-1));
        } else {
          slice.zero_();
        }
      }
      again.push_back(flats_[b]);
    }
    if (!again.empty()) transport_->all_reduce_sum_in_place(again);
  } else {
    std::vector<torch::Tensor> all = flats_;
    all.push_back(present);
    transport_->all_reduce_sum_in_place(all);
  }
  present = present.cpu();
  const float* anywhere = present.data_ptr<float>();
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto& p = parameters_[k];
    if (anywhere[k] == 0.0f) continue;
    auto summed = flats_[bucket_of_[k]].narrow(0, static_cast<int64_t>(offset_of_[k]), p.numel()).view(p.sizes());
    if (p.grad().defined()) {
      p.mutable_grad().copy_(summed);
    } else {
      p.mutable_grad() = summed.clone();
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
