#include "trainer/model_io/model_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <google/protobuf/text_format.h>

#include "proto/config_loader.h"

namespace rfm::model_io {
namespace {

constexpr const char* kFormat = "rfm-model-checkpoint-1";

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw CheckpointError(path + ": cannot open to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw CheckpointError(path + ": fsync failed");
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw CheckpointError(path + ": no such checkpoint file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    c10::IValue format;
    if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormat) {
      throw CheckpointError(path + ": not an rfm model checkpoint (no '" + std::string(kFormat) + "' marker)");
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": unreadable checkpoint (truncated or corrupt): " + e.what_without_backtrace());
  }
  return archive;
}

// Module::load would silently adopt a stored tensor of another shape, so
// every parameter and buffer is checked against the model first.
void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& prefix,
                  const std::string& path) {
  auto take = [&](const std::string& name, torch::Tensor& target, bool buffer) {
    torch::Tensor stored;
    if (!archive.try_read(name, stored, buffer)) {
      throw CheckpointError(path + ": checkpoint has no tensor '" + prefix + name + "' (another architecture?)");
    }
    if (stored.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << path << ": tensor '" << prefix << name << "' is " << stored.sizes() << " in the checkpoint, "
          << target.sizes() << " in the model (another architecture?)";
      throw CheckpointError(msg.str());
    }
    torch::NoGradGuard no_grad;
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters(/*recurse=*/false)) take(p.key(), p.value(), false);
  for (auto& b : module.named_buffers(/*recurse=*/false)) take(b.key(), b.value(), true);
  for (auto& child : module.named_children()) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub)) {
      throw CheckpointError(path + ": checkpoint has no module '" + prefix + child.key() + "' (another architecture?)");
    }
    load_checked(*child.value(), sub, prefix + child.key() + ".", path);
  }
}

// 64-bit FNV-1a, continued from `h`.
uint64_t fnv1a(uint64_t h, const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= 1099511628211ULL;
  }
  return h;
}

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;

std::string hex16(uint64_t h) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

std::string config_hash(const config::RunConfig& config) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  return hex16(fnv1a(kFnvOffset, text.data(), text.size()));
}

std::string architecture_text(const config::ModelConfig& model) {
  config::ModelConfig m = model;
  m.clear_pretrained();
  m.clear_part_fc_init();
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string text;
  printer.PrintToString(m, &text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string weights_digest(const torch::nn::Module& module) {
  uint64_t h = kFnvOffset;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    const std::string head = name + ":" + c10::toString(c.scalar_type()) + ":" + c10::str(c.sizes());
    h = fnv1a(h, head.data(), head.size());
    h = fnv1a(h, c.data_ptr(), c.nbytes());
  };
  for (const auto& p : module.named_parameters()) add(p.key(), p.value());
  for (const auto& b : module.named_buffers()) add(b.key(), b.value());
  return hex16(h);
}

void save_model_checkpoint(const std::string& path, model::RfmModel& model, const config::RunConfig& config,
                           int64_t step, double epoch, const TrainingState* state) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string config_text;
  google::protobuf::TextFormat::PrintToString(config, &config_text);
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive weights;
  model->save(weights);
  archive.write("model", weights);
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("config", c10::IValue(config_text));
  archive.write("step", c10::IValue(step));
  archive.write("epoch", c10::IValue(epoch));
  archive.write("config_hash", c10::IValue(config_hash(config)));
  if (state != nullptr) {
    torch::serialize::OutputArchive optimizer;
    if (state->optimizer != nullptr) state->optimizer->save(optimizer);
    archive.write("optimizer", optimizer);
    if (state->cpu_rng_state.defined()) archive.write("cpu_rng_state", state->cpu_rng_state, /*is_buffer=*/true);
    if (state->cuda_rng_state.defined()) archive.write("cuda_rng_state", state->cuda_rng_state, /*is_buffer=*/true);
    archive.write("sampler_state", c10::IValue(state->sampler_state));
    archive.write("best_map", c10::IValue(state->best_map));
    archive.write("best_step", c10::IValue(state->best_step));
    if (state->loss_scaler.scale > 0) {
      archive.write("loss_scale", c10::IValue(state->loss_scaler.scale));
      archive.write("loss_scale_good_steps", c10::IValue(state->loss_scaler.good_steps));
      archive.write("loss_scale_consecutive_skips", c10::IValue(state->loss_scaler.consecutive_skips));
    }
  }
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw CheckpointError(tmp + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw CheckpointError(path + ": cannot rename " + tmp);
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", true);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  auto archive = open_archive(path);
  CheckpointInfo info;
  c10::IValue config, step, epoch;
  if (!archive.try_read("config", config) || !config.isString() ||
      !google::protobuf::TextFormat::ParseFromString(config.toStringRef(), &info.config)) {
    throw CheckpointError(path + ": checkpoint has no readable configuration");
  }
  // An older rfm wrote some fields in their former sections; the warnings
  // are left out, since the file cannot be rewritten here.
  try {
    config::upgrade_moved_fields(info.config);
  } catch (const config::ConfigError& e) {
    throw CheckpointError(path + ": " + e.what());
  }
  if (archive.try_read("step", step) && step.isInt()) info.step = step.toInt();
  if (archive.try_read("epoch", epoch) && epoch.isDouble()) info.epoch = epoch.toDouble();
  c10::IValue hash;
  if (archive.try_read("config_hash", hash) && hash.isString()) info.config_hash = hash.toStringRef();
  torch::serialize::InputArchive optimizer;
  info.has_training_state = archive.try_read("optimizer", optimizer);
  return info;
}

void load_training_state(const std::string& path, TrainingState* state) {
  auto archive = open_archive(path);
  try {
    torch::serialize::InputArchive optimizer;
    if (!archive.try_read("optimizer", optimizer)) {
      throw CheckpointError(path + ": checkpoint has no training state (written by evaluation or an older rfm)");
    }
    if (state->optimizer != nullptr) state->optimizer->load(optimizer);
    torch::Tensor t;
    if (archive.try_read("cpu_rng_state", t, true)) state->cpu_rng_state = t;
    torch::Tensor cuda;
    if (archive.try_read("cuda_rng_state", cuda, true)) state->cuda_rng_state = cuda;
    c10::IValue v;
    if (archive.try_read("sampler_state", v) && v.isString()) state->sampler_state = v.toStringRef();
    if (archive.try_read("best_map", v) && v.isDouble()) state->best_map = v.toDouble();
    if (archive.try_read("best_step", v) && v.isInt()) state->best_step = v.toInt();
    if (archive.try_read("loss_scale", v) && v.isDouble()) {
      state->loss_scaler.scale = v.toDouble();
      if (archive.try_read("loss_scale_good_steps", v) && v.isInt()) state->loss_scaler.good_steps = v.toInt();
      if (archive.try_read("loss_scale_consecutive_skips", v) && v.isInt()) {
        state->loss_scaler.consecutive_skips = v.toInt();
      }
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": training state does not fit this run: " + e.what_without_backtrace());
  }
}

void load_model_weights(const std::string& path, model::RfmModel& model) {
  auto archive = open_archive(path);
  torch::serialize::InputArchive weights;
  try {
    if (!archive.try_read("model", weights)) throw CheckpointError(path + ": checkpoint has no model weights");
    load_checked(*model, weights, "", path);
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": weights do not fit the model: " + e.what_without_backtrace());
  }
}

}  // namespace rfm::model_io
