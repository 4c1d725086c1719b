#include "trainer/model/memory_format.h"

namespace rfm::model {

int convert_to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  int changed = 0;
  auto relayout = [&](torch::Tensor& t) {
    if (t.dim() != 4 || t.is_contiguous(torch::MemoryFormat::ChannelsLast)) return;
    t.set_data(t.contiguous(torch::MemoryFormat::ChannelsLast));
    ++changed;
  };
  for (auto& p : module.parameters()) relayout(p);
  for (auto& b : module.buffers()) relayout(b);
  return changed;
}

}  // namespace rfm::model
