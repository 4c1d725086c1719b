#include "loader/train_transform.h"

#include <cstring>

#include "dataset/seeded_random.h"

namespace rfm::loader {

data::ImageU8 apply_train_transform(const data::ImageU8& image, const TrainTransformOptions& options, uint64_t seed) {
  data::SeededRandom rng(seed);
  const bool flip = options.horizontal_flip && rng.chance(0.5);
  const int pad = options.pad;
  // Offset of the crop window in the padded image, [0, 2 * pad] each way.
  const int oy = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  const int ox = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  const int h = image.height, w = image.width, c = image.channels;
  data::ImageU8 out(h, w, c, 0);
  for (int y = 0; y < h; ++y) {
    const int sy = y + oy - pad;  // source row
    if (sy < 0 || sy >= h) continue;
    for (int x = 0; x < w; ++x) {
      const int px = x + ox - pad;  // column in the (flipped) source
      if (px < 0 || px >= w) continue;
      const int sx = flip ? w - 1 - px : px;
      std::memcpy(out.at(y, x), image.at(sy, sx), static_cast<size_t>(c));
    }
  }
  return out;
}

}  // namespace rfm::loader
