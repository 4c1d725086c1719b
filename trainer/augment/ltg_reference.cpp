#include <algorithm>
#include <stdexcept>

#include "trainer/augment/ltg.h"

namespace rfm::augment {

LtgImageResult ltg_reference(const torch::Tensor& image, const LtgOptions& options, uint64_t seed) {
  if (image.dim() != 3 || image.size(0) > kMaxChannels || image.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("ltg_reference: expected a float [C<=4, H, W] image");
  }
  LtgImageResult result;
  result.image = image.to(torch::kCPU).contiguous().clone();
  const int C = static_cast<int>(image.size(0)), H = static_cast<int>(image.size(1)), W = static_cast<int>(image.size(2));
  float* pixels = result.image.data_ptr<float>();
  const float t_min = static_cast<float>(options.t_min);

  LtgDrawStream stream(options, seed);
  result.applied = stream.draw_apply();
  if (!result.applied) return result;

  std::vector<float> memory(static_cast<size_t>(C) * H * W, 1.0f);  // M = Ones(C, H, W)
  int accepted = 0;
  for (int attempt = 0; attempt < options.max_attempts && accepted < options.max_rectangles; ++attempt) {
    if (auto rect = stream.draw_placement(H, W)) {
      stream.draw_fractions(*rect, C);
      AppliedRectangle applied{*rect, {}};
      for (int c = 0; c < C; ++c) {
        float* plane = pixels + static_cast<size_t>(c) * H * W;
        float* mplane = memory.data() + static_cast<size_t>(c) * H * W;
        float region_max = -1.0f;
        for (int y = rect->y; y < rect->y + rect->height; ++y) {
          for (int x = rect->x; x < rect->x + rect->width; ++x) region_max = std::max(region_max, plane[y * W + x]);
        }
        const float alpha = region_max > 0.0f ? rect->fraction[c] / region_max : rect->fraction[c];
        applied.alpha[c] = alpha;
        for (int y = rect->y; y < rect->y + rect->height; ++y) {
          for (int x = rect->x; x < rect->x + rect->width; ++x) {
            plane[y * W + x] = std::min(plane[y * W + x] * alpha, 1.0f);
            mplane[y * W + x] = mplane[y * W + x] * alpha;
          }
        }
      }
      result.rectangles.push_back(applied);
      ++accepted;
    }
    if (*std::min_element(memory.begin(), memory.end()) <= t_min) break;
  }
  return result;
}

}  // namespace rfm::augment
