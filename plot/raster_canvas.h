#pragma once
// An RGB raster to draw plots and image sheets on, written as PNG.

#include <cstdint>
#include <string>

#include "dataset/image.h"

namespace rfm::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class RasterCanvas {
 public:
  RasterCanvas(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return image_.width; }
  int height() const { return image_.height; }
  Rgb at(int x, int y) const;

  void set(int x, int y, Rgb c);  // ignored outside the canvas
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void rect_outline(int x, int y, int w, int h, int thickness, Rgb c);
  // A line `thickness` pixels wide (Bresenham with a square pen).
  void line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1);
  // Text with its top-left corner at (x, y); `scale` multiplies the 5x7 glyphs.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  // An image (height x width x 3) with its top-left corner at (x, y).
  void blit(const dataset::ImageU8& image, int x, int y);

  const dataset::ImageU8& image() const { return image_; }
  void write_png(const std::string& path) const;

 private:
  dataset::ImageU8 image_;
};

}  // namespace rfm::plot
