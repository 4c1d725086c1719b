#include "plot/raster_canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "dataset/image_codec.h"
#include "plot/bitmap_font.h"

namespace rfm::plot {

RasterCanvas::RasterCanvas(int width, int height, Rgb background) {
  if (width < 1 || height < 1 || width > 20000 || height > 20000) {
    throw std::invalid_argument("canvas size " + std::to_string(width) + "x" + std::to_string(height) + " out of range");
  }
  image_.width = width;
  image_.height = height;
  image_.pixels.resize(static_cast<size_t>(width) * height * 3);
  fill_rect(0, 0, width, height, background);
}

Rgb RasterCanvas::at(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * image_.width + x) * 3;
  return {image_.pixels[i], image_.pixels[i + 1], image_.pixels[i + 2]};
}

void RasterCanvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= image_.width || y >= image_.height) return;
  const size_t i = (static_cast<size_t>(y) * image_.width + x) * 3;
  image_.pixels[i] = c.r;
  image_.pixels[i + 1] = c.g;
  image_.pixels[i + 2] = c.b;
}

void RasterCanvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(image_.width, x + w), y1 = std::min(image_.height, y + h);
  for (int yy = y0; yy < y1; ++yy) {
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, c);
  }
}

void RasterCanvas::rect_outline(int x, int y, int w, int h, int t, Rgb c) {
  fill_rect(x, y, w, t, c);
  fill_rect(x, y + h - t, w, t, c);
  fill_rect(x, y, t, h, c);
  fill_rect(x + w - t, y, t, h, c);
}

void RasterCanvas::line(double x0, double y0, double x1, double y1, Rgb c, int thickness) {
  int ax = static_cast<int>(std::lround(x0)), ay = static_cast<int>(std::lround(y0));
  const int bx = static_cast<int>(std::lround(x1)), by = static_cast<int>(std::lround(y1));
  const int dx = std::abs(bx - ax), dy = -std::abs(by - ay);
  const int sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
  int err = dx + dy;
  const int half = (thickness - 1) / 2;
  for (;;) {
    fill_rect(ax - half, ay - half, thickness, thickness, c);
    if (ax == bx && ay == by) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      ax += sx;
    }
    if (e2 <= dx) {
      err += dx;
      ay += sy;
    }
  }
}

void RasterCanvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (size_t i = 0; i < s.size(); ++i) {
    const int gx = x + static_cast<int>(i) * kGlyphAdvance * scale;
    for (int r = 0; r < kGlyphHeight; ++r) {
      const uint8_t bits = glyph_row(s[i], r);
      for (int col = 0; col < kGlyphWidth; ++col) {
        if (bits & (1u << (kGlyphWidth - 1 - col))) fill_rect(gx + col * scale, y + r * scale, scale, scale, c);
      }
    }
  }
}

int RasterCanvas::text_width(const std::string& s, int scale) {
  return s.empty() ? 0 : (static_cast<int>(s.size()) * kGlyphAdvance - 1) * scale;
}

void RasterCanvas::blit(const dataset::ImageU8& img, int x, int y) {
  for (int yy = 0; yy < img.height; ++yy) {
    for (int xx = 0; xx < img.width; ++xx) {
      const size_t i = (static_cast<size_t>(yy) * img.width + xx) * 3;
      set(x + xx, y + yy, {img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]});
    }
  }
}

void RasterCanvas::write_png(const std::string& path) const { dataset::write_image_file(path, image_); }

}  // namespace rfm::plot
