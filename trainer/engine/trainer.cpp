#include "trainer/engine/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include <torch/cuda.h>

#include "dataset/seeded_random.h"
#include "proto/config_loader.h"
#include "trainer/augment/ltg.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/engine/gradient_clipping.h"
#include "trainer/model/autocast_scope.h"
#include "trainer/model/memory_format.h"
#include "trainer/model/pretrained_weights.h"

namespace rfm::engine {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kData: return "data";
    case Phase::kForward: return "forward";
    case Phase::kBackward: return "backward";
    case Phase::kAllReduce: return "all-reduce";
    case Phase::kOptimizer: return "optimizer";
    case Phase::kCheckpoint: return "checkpoint";
    case Phase::kEvaluate: return "evaluate";
    case Phase::kDone: return "done";
  }
  return "unknown";
}

Trainer::Trainer(const config::RunConfig& config, const torch::Device& device,
                 std::shared_ptr<comm::TensorTransport> transport)
    : config_(config), transport_(std::move(transport)), device_(device) {
  model_ = model::RfmModel(model_io::model_options(config));
  if (!config.model().pretrained().empty()) model::load_torchvision_backbone(model_, config.model().pretrained());
  model_->to(device_);
  if (config.train().precision() == config::TrainConfig::FP64) model_->to(torch::kFloat64);
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(config.train().cudnn_benchmark());
  // Before anything holds the parameters (broadcast, hooks, optimizer).
  if (config.train().channels_last()) model::convert_to_channels_last(*model_);
  switch (config.train().precision()) {
    case config::TrainConfig::BF16: autocast_dtype_ = at::kBFloat16; break;
    case config::TrainConfig::FP16: {
      autocast_dtype_ = at::kHalf;
      DynamicLossScalerOptions scaler;
      scaler.initial_scale = config.train().loss_scale_initial();
      scaler.growth_interval = config.train().loss_scale_growth_interval();
      scaler_ = std::make_unique<DynamicLossScaler>(scaler);
      break;
    }
    default: autocast_dtype_ = at::kFloat;
  }
  parameters_ = model_->parameters();
  synchronize_phases_ = device_.is_cuda() && config.metrics().synchronize_phases();
  if (transport_) {
    collectives_ = std::make_shared<comm::DifferentiableCollectives>(transport_);
    comm::broadcast_module_state(*model_, *transport_, 0);
    if (config.distributed().sync_batchnorm()) model::attach_batch_norm_collectives(*model_, collectives_);
    std::vector<torch::Tensor> trainable;
    for (auto& p : model_->parameters()) {
      if (p.requires_grad()) trainable.push_back(p);
    }
    reducer_ = std::make_unique<comm::GradientReducer>(trainable, transport_, config.distributed().bucket_mb(),
                                                       config.distributed().overlap_backward());
  } else {
    collectives_ = std::make_shared<comm::LocalCollectives>();
  }

  // Two groups: the (pretrained) backbone at lr * backbone_lr_multiplier, the rest at lr.
  std::vector<torch::Tensor> backbone, head;
  for (auto& p : model_->named_parameters()) (model_->is_pretrained_tensor(p.key()) ? backbone : head).push_back(p.value());
  const auto& o = config.optimizer();
  auto options = torch::optim::SGDOptions(o.lr()).momentum(o.momentum()).weight_decay(o.weight_decay()).nesterov(o.nesterov());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(backbone, std::make_unique<torch::optim::SGDOptions>(options));
  groups.emplace_back(head, std::make_unique<torch::optim::SGDOptions>(options));
  group_lr_scale_ = {o.backbone_lr_multiplier(), 1.0};
  optimizer_ = std::make_unique<torch::optim::SGD>(groups, options);

  schedule_.base_lr = o.lr();
  schedule_.warmup_epochs = config.schedule().warmup_epochs();
  schedule_.warmup_factor = config.schedule().warmup_factor();
  schedule_.milestones.assign(config.schedule().milestones().begin(), config.schedule().milestones().end());
  schedule_.gamma = config.schedule().gamma();
  loss_options_ = model_io::loss_options(config.loss());

  const auto& d = config.data();
  // In the model's dtype: normalisation turns the float32 batch into it.
  const auto dtype = config.train().precision() == config::TrainConfig::FP64 ? torch::kFloat64 : torch::kFloat32;
  mean_ = torch::tensor(std::vector<float>(d.mean().begin(), d.mean().end())).view({1, 3, 1, 1}).to(device_, dtype);
  std_ = torch::tensor(std::vector<float>(d.std().begin(), d.std().end())).view({1, 3, 1, 1}).to(device_, dtype);
}

torch::Tensor Trainer::normalize(const torch::Tensor& images) const { return (images - mean_) / std_; }

torch::Tensor Trainer::augment(const TrainBatch& batch, const torch::Tensor& images, bool owned, int64_t step_index,
                               torch::Tensor* rectangles) const {
  int64_t on_host = 0;
  *rectangles = torch::zeros({}, torch::kInt64);
  const auto& l = config_.ltg();
  if (!l.enabled()) return images;
  const auto options = model_io::ltg_options(l);
  const uint64_t step_seed = dataset::mix64(config_.train().seed(), static_cast<uint64_t>(step_index));
  // The loader's rows are on the host (TrainBatch), as the seeds must be.
  const auto rows = (batch.global_rows.defined() ? batch.global_rows.to(torch::kCPU) : torch::arange(images.size(0)))
                        .to(torch::kInt64)
                        .contiguous();
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < images.size(0); ++i) {
    seeds.push_back(dataset::mix64(step_seed, static_cast<uint64_t>(rows.data_ptr<int64_t>()[i])));
  }
  if (l.implementation() == config::LtgConfig::REFERENCE) {
    std::vector<torch::Tensor> out;
    auto cpu = images.to(torch::kCPU);
    for (int64_t i = 0; i < images.size(0); ++i) {
      auto r = augment::ltg_reference(cpu[i], options, seeds[i]);
      on_host += static_cast<int64_t>(r.rectangles.size());
      out.push_back(r.image);
    }
    *rectangles = torch::tensor(on_host);
    return torch::stack(out).to(images.device());
  }
  if (owned && images.device().is_cpu() && images.is_contiguous()) {
    auto batch = images;
    for (const auto& plan : augment::ltg_batched_cpu_in_place(batch, options, seeds)) {
      on_host += static_cast<int64_t>(plan.rectangles.size());
    }
    *rectangles = torch::tensor(on_host);
    return batch;
  }
  auto result = augment::ltg_batched(images, options, seeds);
  *rectangles = result.rectangles_used.sum(torch::kInt64);  // on the batch's device: read with the step's losses
  return result.images;
}

StepStats Trainer::step(const TrainBatch& batch, int64_t step_index, double epoch, bool request_stop,
                        const std::function<void(Phase)>& on_phase) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto mark = start;
  // Seconds since the previous mark, after the device has caught up when
  // asked to (CUDA runs asynchronously from the host).
  auto lap = [&]() {
    if (synchronize_phases_) torch::cuda::synchronize(device_.has_index() ? device_.index() : -1);
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - mark).count();
    mark = now;
    return seconds;
  };
  auto phase = [&](Phase p) {
    if (on_phase) on_phase(p);
  };
  phase(Phase::kForward);
  StepStats stats;
  stats.step = step_index;
  stats.images = batch.images.size(0);
  stats.lr = schedule_.at(epoch);
  for (size_t g = 0; g < optimizer_->param_groups().size(); ++g) {
    static_cast<torch::optim::SGDOptions&>(optimizer_->param_groups()[g].options()).lr(stats.lr * group_lr_scale_[g]);
  }

  model_->train();
  // Non-blocking: from the loader's page-locked memory the copies overlap
  // with the work already queued on the device.
  auto images = batch.images.to(device_, /*non_blocking=*/true);
  auto labels = batch.labels.to(device_, /*non_blocking=*/true);
  auto modality = batch.modality.to(device_, /*non_blocking=*/true);
  // A uint8 batch becomes a float tensor of our own, which LTG may then
  // overwrite; a float batch may still be the loader's.
  const bool owned = images.scalar_type() == torch::kUInt8;
  if (owned) images = images.to(torch::kFloat32).div_(255.0);
  torch::Tensor rectangles;
  images = normalize(augment(batch, images, owned, step_index, &rectangles));
  if (config_.train().channels_last()) images = images.contiguous(torch::MemoryFormat::ChannelsLast);

  model::RfmOutput output;
  {
    model::AutocastScope autocast(device_.type(), autocast_dtype_);
    output = model_->forward(images, batch.modality);  // MAM reads it on the host
  }
  // The losses run in float32 outside autocast: the triplet's distances, the
  // centres' sums and the softmax need its range and precision, and the
  // collectives then move float32 on every path.
  if (autocast_dtype_ != at::kFloat) output = model::to_float32(output);
  auto terms = loss::rfm_loss(output, labels, modality, loss_options_, *collectives_);
  // The global loss and the stop flag in one small all-reduce: every rank
  // then takes the same decision (stop, or non-finite loss) at this step.
  std::vector<torch::Tensor> summary_terms;
  for (const auto& term : loss::kLossTerms) {
    summary_terms.push_back(terms[term.term].detach().to(torch::kFloat64).reshape({}));
  }
  summary_terms.push_back(torch::full({}, request_stop ? 1.0 : 0.0, torch::TensorOptions(torch::kFloat64).device(device_)));
  auto summary = torch::stack(summary_terms);
  if (transport_) summary = transport_->all_reduce_sum(summary);
  // The step's one planned host synchronisation: the losses (and this
  // rank's LTG count, where it is on the GPU, in the same copy) decide
  // whether to stop and whether the loss is finite.
  const bool count_on_device = rectangles.device() == summary.device() && !summary.device().is_cpu();
  if (count_on_device) summary = torch::cat({summary, rectangles.to(torch::kFloat64).reshape({1})});
  summary = summary.cpu();
  const double* v = summary.data_ptr<double>();
  stats.ltg_rectangles = count_on_device ? static_cast<int64_t>(v[loss::kLossTermCount + 1])
                                         : rectangles.to(torch::kCPU).item<int64_t>();
  for (const auto& term : loss::kLossTerms) stats.loss[term.term] = v[term.term];
  stats.stop_requested = v[loss::kLossTermCount] > 0;
  if (!std::isfinite(stats.loss[loss::kTotalLoss])) {
    std::ostringstream msg;
    msg << "step " << step_index << ": non-finite loss (";
    for (const auto& term : loss::kLossTerms) {
      msg << (term.term == 0 ? "" : ", ") << term.name << " " << stats.loss[term.term];
    }
    msg << ")";
    throw NonFiniteLossError(msg.str());
  }
  stats.forward_seconds = lap();
  phase(Phase::kBackward);
  // PyTorch 2's zero_grad: gradients set to none, so a parameter that gets
  // no gradient this step is skipped by SGD (no weight decay, no momentum),
  // in one process and on N ranks alike (the reducer leaves it none on
  // every rank when no rank produced one).  Alone, backward then hands its
  // fresh gradients over; with the reducer they are views into its buckets.
  optimizer_->zero_grad(/*set_to_none=*/true);
  if (reducer_) reducer_->begin_step();
  if (scaler_) {
    stats.loss_scale = scaler_->scale();
    scaler_->scale_loss(terms[loss::kTotalLoss]).backward();
  } else {
    terms[loss::kTotalLoss].backward();
  }
  stats.backward_seconds = lap();
  if (reducer_) {
    phase(Phase::kAllReduce);
    reducer_->all_reduce_gradients();
    stats.all_reduce_seconds = lap();
  }
  phase(Phase::kOptimizer);
  // After the all-reduce every rank holds the same gradient, so the norm,
  // the clipping, the finiteness check and the loss scale agree across ranks.
  if (scaler_) scaler_->unscale(parameters_);
  const double clip = config_.optimizer().grad_clip_norm();
  stats.grad_norm = clip_gradient_norm(parameters_, clip);
  const bool finite = std::isfinite(stats.grad_norm);
  if (scaler_) {
    if (!scaler_->update(finite)) {
      if (scaler_->gave_up()) {
        throw NonFiniteLossError("step " + std::to_string(step_index) + ": non-finite FP16 gradients in " +
                                 std::to_string(scaler_->state().consecutive_skips) +
                                 " steps in a row (loss scale now " + std::to_string(scaler_->scale()) + ")");
      }
      stats.skipped = true;  // an overflow of the scale: no update, a smaller scale next step
      stats.optimizer_seconds = lap();
      stats.seconds = std::chrono::duration<double>(mark - start).count();
      return stats;
    }
  } else if (!finite) {
    throw NonFiniteLossError("step " + std::to_string(step_index) + ": non-finite gradient norm");
  }
  optimizer_->step();
  stats.optimizer_seconds = lap();
  stats.seconds = std::chrono::duration<double>(mark - start).count();
  return stats;
}

}  // namespace rfm::engine
