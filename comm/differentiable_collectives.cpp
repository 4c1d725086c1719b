#include <cstdint>

#include "comm/tensor_transport.h"

namespace rfm::comm {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

TensorTransport* transport_of(AutogradContext* ctx) {
  return reinterpret_cast<TensorTransport*>(ctx->saved_data["transport"].toInt());
}

struct AllReduceSumFunction : torch::autograd::Function<AllReduceSumFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local, TensorTransport* transport) {
    ctx->saved_data["transport"] = reinterpret_cast<int64_t>(transport);
    return transport->all_reduce_sum(local);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {transport_of(ctx)->all_reduce_sum(grad[0]), torch::Tensor()};
  }
};

// The data moves before apply(); the function only routes gradients.
struct GatherGradientFunction : torch::autograd::Function<GatherGradientFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local, const torch::Tensor& gathered,
                               int64_t offset, TensorTransport* transport) {
    ctx->saved_data["transport"] = reinterpret_cast<int64_t>(transport);
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = local.size(0);
    return gathered.clone();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto total = transport_of(ctx)->all_reduce_sum(grad[0].contiguous());
    auto mine = total.narrow(0, ctx->saved_data["offset"].toInt(), ctx->saved_data["rows"].toInt());
    return {mine, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

DifferentiableCollectives::DifferentiableCollectives(std::shared_ptr<TensorTransport> transport)
    : transport_(std::move(transport)) {}

int DifferentiableCollectives::rank() const { return transport_->rank(); }
int DifferentiableCollectives::world_size() const { return transport_->world_size(); }

torch::Tensor DifferentiableCollectives::all_reduce_sum(const torch::Tensor& local) {
  return AllReduceSumFunction::apply(local, transport_.get());
}

GatheredTensor DifferentiableCollectives::all_gather(const torch::Tensor& local) {
  auto parts = transport_->all_gather(local.detach());
  int64_t offset = 0;
  for (int r = 0; r < transport_->rank(); ++r) offset += parts[r].size(0);
  auto gathered = torch::cat(parts, 0);
  if (!local.requires_grad()) return {gathered, offset};
  return {GatherGradientFunction::apply(local, gathered, offset, transport_.get()), offset};
}

}  // namespace rfm::comm

namespace rfm::comm {

// Defaults for transports without a faster path: one buffer at a time.
void TensorTransport::all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) {
  for (auto& b : buffers) b.copy_(all_reduce_sum(b));
}

namespace {

class CompletedReduction final : public PendingReduction {
 public:
  bool poll() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<PendingReduction> TensorTransport::start_gradient_sum(torch::Tensor& buffer) {
  std::vector<torch::Tensor> one{buffer};
  all_reduce_sum_in_place(one);
  return std::make_unique<CompletedReduction>();
}

void TensorTransport::barrier() { all_reduce_sum(torch::zeros({1})); }

void TensorTransport::broadcast_in_place(torch::Tensor& tensor, int root) {
  auto all = all_gather(tensor.unsqueeze(0));
  tensor.copy_(all.at(static_cast<size_t>(root)).squeeze(0));
}

}  // namespace rfm::comm
