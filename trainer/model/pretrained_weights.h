#pragma once
// Initialising our modules from a torchvision ResNet state-dict file.

#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/model/resnet.h"
#include "trainer/model/rfm_model.h"
#include "trainer/model/state_dict_file.h"

namespace rfm::model {

struct WeightLoadReport {
  size_t copied = 0;                    // tensors written into the module
  std::vector<std::string> missing;     // module tensors that must be loaded and were not
  std::vector<std::string> unexpected;  // file keys that map to nothing
  std::vector<std::string> mismatched;  // "name: file [..] vs model [..]"
  std::vector<std::string> ignored;     // file keys deliberately unused (fc.*)
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string describe() const;
};

// Copies file tensors into the parameters and buffers of `module`:
// `targets_of(key)` names the module tensors a file key initialises (empty:
// unused), `required(name)` says which module tensors must be initialised.
WeightLoadReport copy_named_tensors(torch::nn::Module& module, const NamedTensors& source,
                                    const std::function<std::vector<std::string>(const std::string&)>& targets_of,
                                    const std::function<bool(const std::string&)>& required);

// Loads torchvision's resnet{18,34,50} weights (fc.* ignored).  Throws
// StateDictError naming every missing, unexpected and mis-shaped key.
WeightLoadReport load_torchvision_resnet(ResNet& resnet, const std::string& path);
WeightLoadReport load_torchvision_backbone(RfmModel& model, const std::string& path);

// Loads a whole state dict in the module's own names (every parameter and
// buffer, nothing else), as python/rfm_model.py writes one for our model.
// Throws StateDictError naming every missing, unexpected and mis-shaped key.
WeightLoadReport load_module_state_dict(torch::nn::Module& module, const std::string& path);

}  // namespace rfm::model
