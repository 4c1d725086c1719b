#pragma once
// Reads a state dict written by Python's torch.save(model.state_dict(), f)
// (the zip format of torch >= 1.6), as torchvision publishes its weights.
//
// torch::pickle_load rejects these files: a state dict is an OrderedDict
// whose `_metadata` attribute is pickled with a BUILD opcode that LibTorch's
// unpickler does not accept.  This reader interprets the small pickle subset
// torch.save emits (protocol 2: dicts, tuples, ints, strings, the tensor
// rebuild calls and persistent storage ids) on top of LibTorch's own zip
// reader, ignores `_metadata`, and names what it cannot read.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace rfm::model {

class StateDictError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Tensors in file order.  A checkpoint dict holding the state dict under
// "state_dict" or "model" is unwrapped.  Throws StateDictError naming the file.
NamedTensors read_state_dict_file(const std::string& path);

}  // namespace rfm::model
