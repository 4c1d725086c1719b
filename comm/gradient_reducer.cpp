#include "comm/gradient_reducer.h"

#include <stdexcept>

namespace rfm::comm {

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<TensorTransport> transport,
                                 double bucket_mb)
    : parameters_(std::move(parameters)), transport_(std::move(transport)) {
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
}

void GradientReducer::all_reduce_gradients() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flats;
  flats.reserve(buckets_.size());
  for (const auto& bucket : buckets_) {
    std::vector<torch::Tensor> pieces;
    for (size_t k : bucket) {
      const auto& g = parameters_[k].grad();
      pieces.push_back(g.defined() ? g.reshape(-1) : torch::zeros({parameters_[k].numel()}, parameters_[k].options()));
    }
    flats.push_back(torch::cat(pieces));
  }
  // Which parameters have a gradient on some rank: one that has none
  // anywhere stays without one, so that SGD skips it (no weight decay or
  // momentum) exactly as a single process would.
  auto present = torch::zeros({static_cast<int64_t>(parameters_.size())}, torch::kFloat32);
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (parameters_[k].grad().defined()) present[static_cast<int64_t>(k)] = 1.0f;
  }
  if (!parameters_.empty()) present = present.to(parameters_.front().device());
  flats.push_back(present);
  transport_->all_reduce_sum_in_place(flats);
  flats.pop_back();
  present = present.cpu();
  const float* anywhere = present.data_ptr<float>();
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t offset = 0;
    for (size_t k : buckets_[b]) {
      auto& p = parameters_[k];
      if (anywhere[k] == 0.0f) {
        offset += p.numel();
        continue;
      }
      auto summed = flats[b].narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(summed);
      } else {
        p.mutable_grad() = summed.clone();
      }
      offset += p.numel();
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
