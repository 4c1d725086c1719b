#include "loader/train_transform.h"

#include <algorithm>
#include <cstring>

#include "dataset/seeded_random.h"

namespace rfm::loader {

TrainTransformDraw draw_train_transform(const TrainTransformOptions& options, uint64_t seed) {
  data::SeededRandom rng(seed);
  TrainTransformDraw d;
  d.flip = options.horizontal_flip && rng.chance(0.5);
  const int pad = options.pad;
  d.offset_y = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  d.offset_x = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  return d;
}

data::ImageU8 apply_train_transform(const data::ImageU8& image, const TrainTransformOptions& options, uint64_t seed) {
  const auto d = draw_train_transform(options, seed);
  const int pad = options.pad, h = image.height, w = image.width, c = image.channels;
  data::ImageU8 out(h, w, c, 0);
  for (int y = 0; y < h; ++y) {
    const int sy = y + d.offset_y - pad;  // source row
    if (sy < 0 || sy >= h) continue;
    for (int x = 0; x < w; ++x) {
      const int px = x + d.offset_x - pad;  // column in the (flipped) source
      if (px < 0 || px >= w) continue;
      const int sx = d.flip ? w - 1 - px : px;
      std::memcpy(out.at(y, x), image.at(sy, sx), static_cast<size_t>(c));
    }
  }
  return out;
}

void write_transformed_chw(const data::ImageU8& image, const TrainTransformOptions& options, uint64_t seed,
                           uint8_t* chw) {
  const auto d = draw_train_transform(options, seed);
  const int pad = options.pad, h = image.height, w = image.width;
  const size_t plane = static_cast<size_t>(h) * w;
  // The output columns whose source column lies inside the image; the rest
  // of each row is the padding.  Only the padding is zeroed: a memset of
  // the whole output first was a second write pass over every image.
  const int x_begin = std::min(w, std::max(0, pad - d.offset_x));
  const int x_end = std::max(x_begin, std::min(w, w + pad - d.offset_x));
  for (int y = 0; y < h; ++y) {
    uint8_t* r = chw + static_cast<size_t>(y) * w;
    uint8_t* g = r + plane;
    uint8_t* b = g + plane;
    const int sy = y + d.offset_y - pad;
    if (sy < 0 || sy >= h) {
      for (uint8_t* p : {r, g, b}) std::memset(p, 0, static_cast<size_t>(w));
      continue;
    }
    for (uint8_t* p : {r, g, b}) {
      std::memset(p, 0, static_cast<size_t>(x_begin));
      std::memset(p + x_end, 0, static_cast<size_t>(w - x_end));
    }
    const uint8_t* row = image.at(sy, 0);
    const int shift = d.offset_x - pad;  // px = x + shift
    if (d.flip) {
      const int mirror = w - 1 - shift;  // source column = mirror - x
      for (int x = x_begin; x < x_end; ++x) {
        const uint8_t* p = row + 3 * (mirror - x);
        r[x] = p[0];
        g[x] = p[1];
        b[x] = p[2];
      }
    } else {
      for (int x = x_begin; x < x_end; ++x) {
        const uint8_t* p = row + 3 * (x + shift);
        r[x] = p[0];
        g[x] = p[1];
        b[x] = p[2];
      }
    }
  }
}

}  // namespace rfm::loader
