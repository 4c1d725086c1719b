#pragma once
// Channels-last (NHWC) storage for a model's 4-D tensors: cuDNN's tensor
// core convolutions read NHWC, and a model kept in NHWC avoids a transpose
// around every convolution under autocast.

#include <torch/torch.h>

namespace rfm::model {

// Re-lays every 4-D parameter and buffer of `module` (and its children) out
// channels-last, in place: the values and the parameters' identities (what
// the optimizer and gradient hooks hold) stay.  Returns how many tensors
// changed layout.
int convert_to_channels_last(torch::nn::Module& module);

}  // namespace rfm::model
