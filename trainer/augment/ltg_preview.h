#pragma once
// The picture of the paper's Fig. 9: inputs on the top row, their LTG
// outputs below, written as one PNG grid.

#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/augment/ltg.h"

namespace rfm::augment {

// A pedestrian-like test figure (head, torso, legs, bag on a background)
// with random colours: what the preview shows when no images are given.
torch::Tensor draw_test_figure(uint64_t seed, int64_t height, int64_t width);

// Tiles images [N, 3, H, W] into `rows` rows with a 2-pixel white border.
torch::Tensor tile_grid(const torch::Tensor& images, int64_t rows);

// Transforms `inputs` (each [3, H, W], resized to height x width) with the
// batched LTG at probability 1 so every column shows a transformation, and
// writes the 2-row grid to `path`.
void write_ltg_preview(const std::string& path, const std::vector<torch::Tensor>& inputs, LtgOptions options,
                       uint64_t seed, int64_t height, int64_t width);

}  // namespace rfm::augment
