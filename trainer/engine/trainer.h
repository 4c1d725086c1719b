#pragma once
// One worker's training step: LTG on the batch's device, mean/std
// normalisation, RFM forward, the loss of Eq. 9, backward, SGD.

#include <memory>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "comm/batch_collectives.h"
#include "rfm_config.pb.h"
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
  double total = 0.0, id = 0.0, triplet = 0.0, centre = 0.0, modality_id = 0.0;
  double seconds = 0.0;       // the step itself
  double data_seconds = 0.0;  // waiting for the batch before it
  int64_t images = 0;
  int64_t ltg_rectangles = 0;  // LTG rectangles applied in the batch
};

class Trainer {
 public:
  Trainer(const config::RunConfig& config, std::shared_ptr<comm::BatchCollectives> collectives);

  // One SGD step on `batch` (images in [0, 1]) at fractional epoch `epoch`.
  StepStats step(const TrainBatch& batch, int64_t step_index, double epoch);

  model::RfmModel& model() { return model_; }
  torch::optim::SGD& optimizer() { return *optimizer_; }
  const torch::Device& device() const { return device_; }

  // Mean/std normalisation after LTG.
  torch::Tensor normalize(const torch::Tensor& images) const;
  // LTG per the config (batched or reference) with seeds from (seed, step,
  // global row) of each image.
  torch::Tensor augment(const TrainBatch& batch, const torch::Tensor& images, int64_t step_index,
                        int64_t* rectangles) const;

 private:
  config::RunConfig config_;
  std::shared_ptr<comm::BatchCollectives> collectives_;
  torch::Device device_;
  model::RfmModel model_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  LrSchedule schedule_;
  std::vector<double> group_lr_scale_;
  loss::RfmLossOptions loss_options_;
  torch::Tensor mean_, std_;
};

// Sets LibTorch's intra-op threads: `threads`, or every core when 0.
int configure_threads(int threads);

// Peak resident memory of this process (VmHWM) in MiB.
double peak_rss_mib();

// The main job of this stage: trains on random identities, logs to `log`
// and to <run_dir>/train_log.tsv, writes <run_dir>/config.pbtxt.
// Returns the per-step statistics.
std::vector<StepStats> run_training(const config::RunConfig& config, std::ostream& log);

}  // namespace rfm::engine
