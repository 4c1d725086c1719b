#include "trainer/augment/ltg_preview.h"

#include <filesystem>
#include <random>

#include "trainer/augment/ltg.h"
#include "trainer/augment/png_image.h"

namespace rfm::augment {

torch::Tensor draw_test_figure(uint64_t seed, int64_t height, int64_t width) {
  std::mt19937_64 rng(dataset::mix64(seed, 7));
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto colour = [&] { return torch::tensor({u(rng), u(rng), u(rng)}).view({3, 1, 1}); };
  auto ys = torch::linspace(0, 1, height).view({1, height, 1});
  auto xs = torch::linspace(0, 1, width).view({1, 1, width});
  auto img = (0.3f + 0.4f * ys * xs).expand({3, height, width}) * colour();
  auto paint = [&](const torch::Tensor& mask, const torch::Tensor& c) { img = torch::where(mask, c.expand_as(img), img); };
  const float cx = 0.5f + 0.1f * (u(rng) - 0.5f);
  paint((ys - 0.12f).pow(2) / 0.006f + (xs - cx).pow(2) / 0.012f < 1.f, colour());                       // head
  paint((ys > 0.2f) & (ys < 0.55f) & ((xs - cx).abs() < 0.22f), colour());                             // torso
  paint((ys >= 0.55f) & (ys < 0.92f) & ((xs - cx).abs() < 0.17f) & ((xs - cx).abs() > 0.02f), colour());  // legs
  paint((ys >= 0.92f) & ((xs - cx).abs() < 0.2f) & ((xs - cx).abs() > 0.03f), colour());               // shoes
  if (u(rng) < 0.5f) paint((ys > 0.3f) & (ys < 0.5f) & (xs - cx > 0.2f) & (xs - cx < 0.35f), colour());  // bag
  return img.clamp(0, 1).contiguous();
}

torch::Tensor tile_grid(const torch::Tensor& images, int64_t rows) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3), border = 2;
  const int64_t cols = (n + rows - 1) / rows;
  auto grid = torch::ones({3, rows * (h + border) + border, cols * (w + border) + border});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, c = i % cols;
    grid.narrow(1, border + r * (h + border), h).narrow(2, border + c * (w + border), w).copy_(images[i]);
  }
  return grid;
}

void write_ltg_preview(const std::string& path, const std::vector<torch::Tensor>& inputs, LtgOptions options,
                       uint64_t seed, int64_t height, int64_t width) {
  std::vector<torch::Tensor> resized;
  for (const auto& img : inputs) {
    resized.push_back(torch::upsample_bilinear2d(img.unsqueeze(0), {height, width}, false).squeeze(0).clamp(0, 1));
  }
  auto batch = torch::stack(resized);
  options.probability = 1.0;
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < resized.size(); ++i) seeds.push_back(dataset::mix64(seed, i));
  auto transformed = ltg_batched(batch, options, seeds).images;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_png_rgb(path, tile_grid(torch::cat({batch, transformed}), 2));
}

}  // namespace rfm::augment
