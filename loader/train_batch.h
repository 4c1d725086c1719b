#pragma once
// One rank's share of a global training batch, as the training step takes it.

#include <torch/torch.h>

namespace rfm::loader {

struct TrainBatch {
  // [N, 3, H, W]: uint8 in [0, 255] from the loader (converted to [0, 1]
  // on the device), or float in [0, 1].
  torch::Tensor images;
  torch::Tensor labels;    // [N] int64
  torch::Tensor modality;  // [N] int64, 0 visible, 1 infrared
  // Row of each image in the global batch (LTG seeds follow it, so a shard
  // is transformed as on one process); undefined means rows 0..N-1.
  torch::Tensor global_rows;
  int64_t step = 0;        // the global step it was drawn for
};

}  // namespace rfm::loader
