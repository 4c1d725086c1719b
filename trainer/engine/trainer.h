#pragma once
// One worker's training step: LTG on the batch's device, mean/std
// normalisation, RFM forward, the loss of Eq. 9, backward, SGD.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "comm/batch_collectives.h"
#include "comm/gradient_reducer.h"
#include "comm/tensor_transport.h"
#include "rfm_config.pb.h"
#include "trainer/engine/dynamic_loss_scaler.h"
#include "trainer/engine/lr_schedule.h"
#include "trainer/engine/random_identity_batches.h"
#include "trainer/loss/rfm_loss.h"
#include "trainer/model/rfm_model.h"

namespace rfm::engine {

// A loss or gradient that is NaN or infinite: the run stops at that step.
class NonFiniteLossError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StepStats {
  int64_t step = 0;
  double lr = 0.0;
  // Loss terms of the global batch (every rank's shares summed).
  loss::PerLossTerm<double> loss;
  double seconds = 0.0;       // the step itself
  double data_seconds = 0.0;  // waiting for the batch before it
  // The step's phases (they add up to `seconds`): LTG, normalisation,
  // forward and losses; backward (with the overlapped gradient sums);
  // the gradient all-reduce that remains after backward; clipping and SGD.
  // On CUDA these are host times unless metrics.synchronize_phases is set.
  double forward_seconds = 0.0, backward_seconds = 0.0, all_reduce_seconds = 0.0, optimizer_seconds = 0.0;
  int64_t images = 0;
  int64_t ltg_rectangles = 0;  // LTG rectangles applied in the batch
  double grad_norm = 0.0;      // global gradient norm before clipping
  // FP16: the loss scale this step used, and whether its gradients
  // overflowed so that the optimizer skipped it (0 and false otherwise).
  double loss_scale = 0.0;
  bool skipped = false;
  bool stop_requested = false; // some rank asked to stop after this step
};

// What the training loop tells the supervisor it is doing.
enum class Phase { kData, kForward, kBackward, kAllReduce, kOptimizer, kCheckpoint, kEvaluate, kDone };
const char* phase_name(Phase phase);

class Trainer {
 public:
  // `transport`: the other data-parallel ranks, nullptr for one process.
  // With a transport, rank 0's initial weights are broadcast, losses are
  // global-batch losses, gradients are summed in buckets, and BN statistics
  // span the ranks when distributed.sync_batchnorm is set.
  // `device`: the worker's resolved device (resolve_worker), where the model,
  // the batches and LTG go.
  Trainer(const config::RunConfig& config, const torch::Device& device,
          std::shared_ptr<comm::TensorTransport> transport);

  // One SGD step on this rank's shard `batch` (images in [0, 1]) at
  // fractional epoch `epoch`.  `request_stop`: this rank wants to stop after
  // the step (a signal); every rank learns it in the step's own all-reduce,
  // so all stop at the same step.  `on_phase` is told each phase as it starts.
  StepStats step(const TrainBatch& batch, int64_t step_index, double epoch, bool request_stop = false,
                 const std::function<void(Phase)>& on_phase = {});

  model::RfmModel& model() { return model_; }
  torch::optim::SGD& optimizer() { return *optimizer_; }
  const torch::Device& device() const { return device_; }
  // The gradient exchange (nullptr without a transport).
  const comm::GradientReducer* reducer() const { return reducer_.get(); }
  // FP16 only; nullptr otherwise.
  DynamicLossScaler* loss_scaler() { return scaler_.get(); }
  // The forward's autocast dtype: kFloat (none), kBFloat16 or kHalf.
  at::ScalarType autocast_dtype() const { return autocast_dtype_; }

  // Mean/std normalisation after LTG.
  torch::Tensor normalize(const torch::Tensor& images) const;
  // LTG per the config (batched or reference) with seeds from (seed, step,
  // global row) of each image.  owned: images is the caller's to overwrite
  // (then a CPU batch is transformed in place, without a copy).
  // `rectangles`: how many LTG applied, a 0-dim int64 tensor on the host, or
  // on the GPU where the CUDA kernel decided it (not waited for here).
  torch::Tensor augment(const TrainBatch& batch, const torch::Tensor& images, bool owned, int64_t step_index,
                        torch::Tensor* rectangles) const;

 private:
  config::RunConfig config_;
  std::shared_ptr<comm::TensorTransport> transport_;
  std::shared_ptr<comm::BatchCollectives> collectives_;
  std::unique_ptr<comm::GradientReducer> reducer_;  // with a transport
  torch::Device device_;
  model::RfmModel model_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  LrSchedule schedule_;
  std::vector<double> group_lr_scale_;
  loss::RfmLossOptions loss_options_;
  torch::Tensor mean_, std_;
  at::ScalarType autocast_dtype_ = at::kFloat;
  std::unique_ptr<DynamicLossScaler> scaler_;
  std::vector<torch::Tensor> parameters_;
  bool synchronize_phases_ = false;
};

}  // namespace rfm::engine
