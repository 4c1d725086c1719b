#include "loader/train_transform.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dataset/image_resize.h"
#include "dataset/seeded_random.h"

namespace rfm::loader {

TrainTransformDraw draw_train_transform(const TrainTransformOptions& options, uint64_t seed) {
  dataset::SeededRandom rng(seed);
  TrainTransformDraw d;
  d.flip = options.horizontal_flip && rng.chance(0.5);
  const int pad = options.pad;
  d.offset_y = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  d.offset_x = pad > 0 ? static_cast<int>(rng.below(static_cast<uint64_t>(2 * pad + 1))) : 0;
  return d;
}

dataset::ImageU8 apply_train_transform(const dataset::ImageU8& image, const TrainTransformOptions& options, uint64_t seed) {
  const auto d = draw_train_transform(options, seed);
  const int pad = options.pad, h = image.height, w = image.width, c = image.channels;
  dataset::ImageU8 out(h, w, c, 0);
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

namespace {

// Where a draw's crop window falls on an h x w image: output pixel (y, x)
// shows source row y + shift_y and column x + shift_x (before the flip).
// Output rows [y_begin, y_end) and columns [x_begin, x_end) have a source
// pixel; the rest of the output is the zero padding.
struct CropGeometry {
  int shift_y = 0, shift_x = 0;  // source row/column (before the flip) = output + shift
  int y_begin = 0, y_end = 0;    // output rows with a source row
  int x_begin = 0, x_end = 0;    // output columns with a source column
};

CropGeometry crop_geometry(const TrainTransformDraw& d, int pad, int h, int w) {
  CropGeometry g;
  g.shift_y = d.offset_y - pad;
  g.shift_x = d.offset_x - pad;
  g.y_begin = std::min(h, std::max(0, -g.shift_y));
  g.y_end = std::max(g.y_begin, std::min(h, h - g.shift_y));
  g.x_begin = std::min(w, std::max(0, -g.shift_x));
  g.x_end = std::max(g.x_begin, std::min(w, w - g.shift_x));
  return g;
}

// Zeroes only the padding: a memset of the whole output first was a second
// write pass over every image.
void zero_padding(const CropGeometry& g, int h, int w, uint8_t* chw) {
  const size_t plane = static_cast<size_t>(h) * w;
  for (int c = 0; c < 3; ++c) {
    uint8_t* p = chw + c * plane;
    std::memset(p, 0, static_cast<size_t>(g.y_begin) * w);
    std::memset(p + static_cast<size_t>(g.y_end) * w, 0, static_cast<size_t>(h - g.y_end) * w);
    for (int y = g.y_begin; y < g.y_end; ++y) {
      uint8_t* row = p + static_cast<size_t>(y) * w;
      std::memset(row, 0, static_cast<size_t>(g.x_begin));
      std::memset(row + g.x_end, 0, static_cast<size_t>(w - g.x_end));
    }
  }
}

}  // namespace

void write_transformed_chw(const dataset::ImageU8& image, const TrainTransformOptions& options, uint64_t seed,
                           uint8_t* chw) {
  const auto d = draw_train_transform(options, seed);
  const int h = image.height, w = image.width;
  const size_t plane = static_cast<size_t>(h) * w;
  const auto g = crop_geometry(d, options.pad, h, w);
  zero_padding(g, h, w, chw);
  for (int y = g.y_begin; y < g.y_end; ++y) {
    uint8_t* r = chw + static_cast<size_t>(y) * w;
    uint8_t* gr = r + plane;
    uint8_t* b = gr + plane;
    const uint8_t* row = image.at(y + g.shift_y, 0);
    if (d.flip) {
      const int mirror = w - 1 - g.shift_x;  // source column = mirror - x
      for (int x = g.x_begin; x < g.x_end; ++x) {
        const uint8_t* p = row + 3 * (mirror - x);
        r[x] = p[0];
        gr[x] = p[1];
        b[x] = p[2];
      }
    } else {
      for (int x = g.x_begin; x < g.x_end; ++x) {
        const uint8_t* p = row + 3 * (x + g.shift_x);
        r[x] = p[0];
        gr[x] = p[1];
        b[x] = p[2];
      }
    }
  }
}

void write_resized_transformed_chw(const dataset::ImageU8& source, int height, int width,
                                   const TrainTransformOptions& options, uint64_t seed, uint8_t* chw) {
  if (source.channels != 3 && source.channels != 1) {
    throw std::invalid_argument("write_resized_transformed_chw: the image is neither RGB nor grey");
  }
  const auto d = draw_train_transform(options, seed);
  const auto g = crop_geometry(d, options.pad, height, width);
  zero_padding(g, height, width, chw);
  if (g.y_begin >= g.y_end || g.x_begin >= g.x_end) return;  // all padding
  // Output (y, x) shows resized pixel (y + shift_y, px) with px = x + shift_x,
  // mirrored to width - 1 - px when flipped; inverted for the resize's window.
  dataset::PlanarWindow win;
  win.row_begin = g.y_begin + g.shift_y;
  win.row_end = g.y_end + g.shift_y;
  win.row_shift = -g.shift_y;
  win.mirror = d.flip;
  if (d.flip) {
    win.col_origin = width - 1 - g.shift_x;
    win.col_begin = win.col_origin - (g.x_end - 1);
    win.col_end = win.col_origin - g.x_begin + 1;
  } else {
    win.col_origin = -g.shift_x;
    win.col_begin = g.x_begin + g.shift_x;
    win.col_end = g.x_end + g.shift_x;
  }
  win.row_stride = static_cast<size_t>(width);
  win.plane_stride = static_cast<size_t>(height) * width;
  dataset::resize_bilinear_into_planes(source, height, width, win, chw);
  if (source.channels == 1) {
    // The resize runs per channel, so the expansion's three equal channels
    // would come out as three copies of this plane.
    const size_t plane = static_cast<size_t>(height) * width;
    std::memcpy(chw + plane, chw, plane);
    std::memcpy(chw + 2 * plane, chw, plane);
  }
}

}  // namespace rfm::loader
