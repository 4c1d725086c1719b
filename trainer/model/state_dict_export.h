#pragma once
// A model's state dict in files PyTorch reads: safetensors (an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range plus string metadata, then the raw little-endian
// tensors, no pickle) and torch.save's zip format (torch::pickle_save of a
// dict of name -> tensor, what `torch.load` returns as a dict).  Names are
// the module's own, which are torchvision's for the ResNet and
// python/rfm_model.py's for the rest.

#include <map>
#include <string>

#include "trainer/model/state_dict_file.h"

namespace rfm::model {

// Every parameter then every buffer, as PyTorch's state_dict() orders them.
NamedTensors module_state_dict(const torch::nn::Module& module);

// Each tensor is written contiguous, on the CPU, in its own dtype.
// std::runtime_error naming the file when it cannot be written.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});
void write_torch_save(const std::string& path, const NamedTensors& tensors);

// A safetensors file: its tensors (in header order) and metadata.
// StateDictError naming the file and what is wrong with it.
struct SafetensorsFile {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace rfm::model
