#pragma once
// Where a worker's training batches come from: this rank's share of each
// global batch, drawn by the source itself (the loader's sharded sampler, or
// the in-memory identities cut to the rank's rows), so the loop never knows
// the world size.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include <torch/torch.h>

#include "comm/process_placement.h"
#include "loader/train_batch.h"
#include "rfm_config.pb.h"

namespace rfm::run {

class BatchSource {
 public:
  virtual ~BatchSource() = default;

  virtual int64_t steps_per_epoch() const = 0;
  // Called once before the first batch, with the step a resume starts at.
  virtual void start(int64_t first_step) = 0;
  // This rank's share of global step `step`'s batch.  Steps come in order.
  virtual loader::TrainBatch next(int64_t step) = 0;
  // The position a checkpoint after `steps_done` steps records ("" when the
  // source is a pure function of the step).
  virtual std::string position_after(int64_t steps_done) const = 0;
  // Throws model_io::CheckpointError (naming `checkpoint`) unless `position`,
  // read from that checkpoint, belongs to resuming after `steps_done` steps.
  virtual void check_resume_position(const std::string& position, int64_t steps_done,
                                     const std::string& checkpoint) const = 0;
};

// The source data.source names, sharded for `placement`.  A dataset sets
// model.num_classes when it is 0 and must agree with it otherwise
// (config::ConfigError); `pin_memory`: batches go to a CUDA device.
std::unique_ptr<BatchSource> open_batch_source(config::RunConfig& config, const comm::ProcessPlacement& placement,
                                               bool pin_memory, std::ostream& log);

}  // namespace rfm::run
