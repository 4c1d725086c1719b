#pragma once
// The model checkpoint file: the model's parameters and buffers, the run's
// configuration (text format) and where training stood.  One LibTorch
// archive, written to a temporary file, fsync'ed, renamed into place and
// the directory fsync'ed, so that a crash leaves the old file or the new
// one, never half of one.

#include <stdexcept>
#include <string>

#include "rfm_config.pb.h"
#include "trainer/model_io/loss_scaler_state.h"
#include "trainer/model/rfm_model.h"

namespace rfm::model_io {

// A checkpoint that cannot be read or does not fit the model: the message
// names the file.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CheckpointInfo {
  config::RunConfig config;
  std::string config_hash;  // config_hash(config) when written
  int64_t step = 0;
  double epoch = 0.0;
  bool has_training_state = false;
};

// What a resumed run needs beyond the weights: the optimizer (momentum
// buffers), the RNG states and the sampler's position, and the best model
// so far.  The LR schedule is a function of (config, step) and needs nothing.
struct TrainingState {
  torch::optim::Optimizer* optimizer = nullptr;  // saved from / loaded into
  torch::Tensor cpu_rng_state;                    // the default CPU generator's
  torch::Tensor cuda_rng_state;                   // undefined on CPU runs
  std::string sampler_state;                      // sampler::SamplerState, binary; "" for in-memory identities
  double best_map = -1.0;                         // -1: not evaluated yet
  int64_t best_step = -1;
  LossScalerState loss_scaler;                    // FP16 runs; scale 0 otherwise
};

// A stable 64-bit FNV-1a of the configuration's text format, as 16 hex
// digits: tells whether a resumed run changed its configuration.
std::string config_hash(const config::RunConfig& config);

// The architecture a ModelConfig builds, as one line of text format (the
// pretrained file and the part FCs' initialisation left out: where the
// initial weights came from is not the architecture).  Equal strings: the same module tree and shapes.
std::string architecture_text(const config::ModelConfig& model);

// A 64-bit FNV-1a over every parameter and buffer (name, dtype, shape and
// bytes, in the module's order), as 16 hex digits: two models with equal
// digests hold the same weights bit for bit (`rfm inspect`).
std::string weights_digest(const torch::nn::Module& module);

// `state` null: weights, config and position only (what evaluation needs).
void save_model_checkpoint(const std::string& path, model::RfmModel& model, const config::RunConfig& config,
                           int64_t step, double epoch, const TrainingState* state = nullptr);

// Loads the optimizer state and the rest of `state` from a checkpoint
// written with a TrainingState; `state->optimizer` must be built for the
// same model.
void load_training_state(const std::string& path, TrainingState* state);

// The configuration and position stored in a checkpoint.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Loads the weights into `model`, which must have the checkpoint's
// architecture (build it from read_checkpoint_info(path).config.model()).
void load_model_weights(const std::string& path, model::RfmModel& model);

}  // namespace rfm::model_io
