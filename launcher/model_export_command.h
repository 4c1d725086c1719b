#pragma once
// `rfm export --checkpoint X --format safetensors|pth --out FILE`: a
// checkpoint's model as a state dict PyTorch loads, in torchvision /
// python/rfm_model.py names.  safetensors carries the architecture and the
// test transform in its metadata; a .pth (torch.load gives a plain dict,
// what model.load_state_dict takes) gets them in FILE.json beside it.
// python/rfm_model.py's load_exported() builds the network from them.

#include <map>
#include <ostream>
#include <string>

#include "rfm_config.pb.h"

namespace rfm::launcher {

// What python/rfm_model.py needs to build the network and feed it:
// "rfm.depth", "rfm.attention", ... as strings.
std::map<std::string, std::string> export_metadata(const config::RunConfig& config, const std::string& checkpoint,
                                                   int64_t step);

// Returns the exit code; model_io::CheckpointError names an unreadable or
// foreign checkpoint, std::invalid_argument a bad --format.
int run_export_command(const std::string& checkpoint, const std::string& format, const std::string& out,
                       std::ostream& log);

}  // namespace rfm::launcher
