#include "trainer/kernels/ltg_draws.h"

#include <cmath>

namespace rfm::kernels {

namespace {
constexpr double kHalfPi = 1.57079632679489661923;
}  // namespace

LtgDrawStream::LtgDrawStream(const LtgOptions& options, uint64_t seed) : options_(options), engine_(dataset::mix64(seed, 0)) {}

double LtgDrawStream::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double LtgDrawStream::fraction() {
  switch (options_.factor) {
    case FactorDistribution::kConstant:
      return options_.constant;
    case FactorDistribution::kUniform:
      return uniform();
    case FactorDistribution::kBeta:
      break;
  }
  if (options_.beta_a == 0.5 && options_.beta_b == 0.5) {
    // The paper's Beta(1/2, 1/2) is the arcsine law, X = sin^2(pi U / 2):
    // one draw and a sine, where the gamma route below costs two
    // rejection-sampled gammas, and the
    // result no longer depends on the standard library's gamma_distribution.
    const double s = std::sin(kHalfPi * uniform());
    return s * s;
  }
  // Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
  std::gamma_distribution<double> ga(options_.beta_a, 1.0), gb(options_.beta_b, 1.0);
  while (true) {
    const double x = ga(engine_);
    const double y = gb(engine_);
    if (x + y > 0.0) return x / (x + y);
  }
}

bool LtgDrawStream::draw_apply() { return uniform() < options_.probability; }

std::optional<LtgRectangle> LtgDrawStream::draw_placement(int height, int width) {
  const double area = (options_.area_min + (options_.area_max - options_.area_min) * uniform()) * height * width;
  const double r_max = 1.0 / options_.aspect_min;
  const double aspect = options_.aspect_min + (r_max - options_.aspect_min) * uniform();
  // Algorithm 1 writes W_r = S_r / r_r, which breaks H_r * W_r = S_r; the
  // area-preserving form is W_r = sqrt(S_r / r_r) (docs/MODEL.md).
  const int h = static_cast<int>(std::lround(std::sqrt(area * aspect)));
  const int w = static_cast<int>(std::lround(std::sqrt(area / aspect)));
  const int x = static_cast<int>(uniform() * width);
  const int y = static_cast<int>(uniform() * height);
  if (h < 1 || w < 1 || x + w > width || y + h > height) return std::nullopt;
  LtgRectangle rect;
  rect.x = x;
  rect.y = y;
  rect.width = w;
  rect.height = h;
  return rect;
}

void LtgDrawStream::draw_fractions(LtgRectangle& rect, int channels) {
  for (int c = 0; c < channels; ++c) rect.fraction[c] = static_cast<float>(fraction());
}

LtgPlan plan_ltg(const LtgOptions& options, uint64_t seed, int channels, int height, int width) {
  LtgDrawStream stream(options, seed);
  LtgPlan plan;
  plan.apply = stream.draw_apply();
  if (!plan.apply) return plan;
  for (int attempt = 0; attempt < options.max_attempts &&
                        static_cast<int>(plan.rectangles.size()) < options.max_rectangles;
       ++attempt) {
    auto rect = stream.draw_placement(height, width);
    if (!rect) continue;
    stream.draw_fractions(*rect, channels);
    plan.rectangles.push_back(*rect);
  }
  return plan;
}

}  // namespace rfm::kernels
