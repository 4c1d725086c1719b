#include "plot/line_chart.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace rfm::plot {
namespace {

std::string tick_label(double v, double step) {
  std::ostringstream s;
  const int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  s << std::fixed << std::setprecision(std::min(decimals, 6)) << v;
  return s.str();
}

}  // namespace

Rgb series_colour(size_t i) {
  static const Rgb palette[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14},
                                {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

RasterCanvas draw_line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  RasterCanvas canvas(o.width, o.height);
  const Rgb ink{0, 0, 0}, grid{225, 225, 225};
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw std::invalid_argument("series '" + s.label + "': x and y sizes differ");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (o.y_min < o.y_max) y_lo = o.y_min, y_hi = o.y_max;
  if (x_hi <= x_lo) x_hi = x_lo + 1;
  if (y_hi <= y_lo) {
    const double pad = std::max(std::abs(y_lo) * 0.1, 1e-6);
    y_lo -= pad;
    y_hi += pad;
  }
  const int left = 70, right = 20, top = 40, bottom = 50;
  const int pw = o.width - left - right, ph = o.height - top - bottom;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * pw; };
  auto py = [&](double y) { return top + ph - (y - y_lo) / (y_hi - y_lo) * ph; };

  const auto yt = nice_ticks(y_lo, y_hi, 6);
  const double y_step = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  for (const double t : yt) {
    canvas.line(left, py(t), left + pw, py(t), grid);
    const auto label = tick_label(t, y_step);
    canvas.text(left - 6 - RasterCanvas::text_width(label), static_cast<int>(py(t)) - 3, label, ink);
  }
  auto xt = nice_ticks(x_lo, x_hi, 8);
  if (o.integer_x_ticks) {
    xt.erase(std::remove_if(xt.begin(), xt.end(), [](double t) { return std::abs(t - std::round(t)) > 1e-9; }), xt.end());
  }
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  for (const double t : xt) {
    canvas.line(px(t), top, px(t), top + ph, grid);
    const auto label = tick_label(t, x_step);
    canvas.text(static_cast<int>(px(t)) - RasterCanvas::text_width(label) / 2, top + ph + 8, label, ink);
  }
  canvas.line(left, top, left, top + ph, ink);
  canvas.line(left, top + ph, left + pw, top + ph, ink);
  canvas.text((o.width - RasterCanvas::text_width(o.title, 2)) / 2, 10, o.title, ink, 2);
  canvas.text(left + (pw - RasterCanvas::text_width(o.x_label)) / 2, o.height - 18, o.x_label, ink);
  canvas.text(6, top - 14, o.y_label, ink);

  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const Rgb c = series_colour(k);
    for (size_t i = 0; i + 1 < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.y[i + 1])) continue;
      canvas.line(px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), c, 2);
    }
    if (s.x.size() == 1 && std::isfinite(s.y[0])) canvas.fill_rect(static_cast<int>(px(s.x[0])) - 2, static_cast<int>(py(s.y[0])) - 2, 5, 5, c);
    // Legend, lower right, one line per series.
    const int ly = top + ph - 14 * static_cast<int>(series.size() - k) - 6;
    const int lx = left + pw - 12 - RasterCanvas::text_width(s.label) - 24;
    canvas.fill_rect(lx - 4, ly - 3, RasterCanvas::text_width(s.label) + 32, 13, {255, 255, 255});
    canvas.fill_rect(lx, ly + 2, 18, 3, c);
    canvas.text(lx + 24, ly, s.label, ink);
  }
  return canvas;
}

}  // namespace rfm::plot
