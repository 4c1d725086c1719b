#pragma once
// A line chart with axes, ticks, a title and a legend, as a PNG: the CMC
// curves of an evaluation, and (issue 6) loss and lr over training.

#include <string>
#include <vector>

#include "plot/raster_canvas.h"

namespace rfm::plot {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct LineChartOptions {
  std::string title, x_label, y_label;
  int width = 720, height = 480;
  // Fixed y range when y_min < y_max; otherwise from the data.
  double y_min = 0.0, y_max = 0.0;
  bool integer_x_ticks = false;
};

RasterCanvas draw_line_chart(const std::vector<Series>& series, const LineChartOptions& options);

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);

// The i-th colour of the palette series are drawn in.
Rgb series_colour(size_t i);

}  // namespace rfm::plot
