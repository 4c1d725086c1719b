#pragma once
// The model checkpoint file: the model's parameters and buffers, the run's
// configuration (text format) and where training stood.  One LibTorch
// archive, written to a temporary file, fsync'ed, renamed into place and
// the directory fsync'ed, so that a crash leaves the old file or the new
// one, never half of one.

#include <stdexcept>
#include <string>

#include "rfm_config.pb.h"
#include "trainer/model/rfm_model.h"

namespace rfm::engine {

// A checkpoint that cannot be read or does not fit the model: the message
// names the file.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CheckpointInfo {
  config::RunConfig config;
  int64_t step = 0;
  double epoch = 0.0;
};

void save_model_checkpoint(const std::string& path, model::RfmModel& model, const config::RunConfig& config,
                           int64_t step, double epoch);

// The configuration and position stored in a checkpoint.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Loads the weights into `model`, which must have the checkpoint's
// architecture (build it from read_checkpoint_info(path).config.model()).
void load_model_weights(const std::string& path, model::RfmModel& model);

}  // namespace rfm::engine
