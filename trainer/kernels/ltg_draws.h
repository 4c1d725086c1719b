#pragma once
// The random draws of the Linear Transformation Generator (Algorithm 1), in
// the order the algorithm consumes them, from one stream per image.  The
// reference and the batched implementation both read this stream, so from
// the same seed they place the same rectangles with the same factors.

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

// Per-image seeds are built from (run seed, step, index) with dataset::mix64,
// the project's one SplitMix64 finaliser.
#include "dataset/seeded_random.h"

namespace rfm::kernels {

enum class FactorDistribution { kBeta, kUniform, kConstant };

struct LtgOptions {
  double probability = 0.5;  // p
  double area_min = 0.02;    // s_min
  double area_max = 0.4;     // s_max
  double aspect_min = 0.3;   // r_min; r_max = 1 / r_min
  double t_min = 1e-6;
  FactorDistribution factor = FactorDistribution::kBeta;
  double beta_a = 0.5;
  double beta_b = 0.5;
  double constant = 0.5;
  // Guards the paper leaves out (docs/MODEL.md): rectangles applied per
  // image, and placement draws (accepted or not) per image.
  int max_rectangles = 256;
  int max_attempts = 10000;
};

constexpr int kMaxChannels = 4;

struct LtgRectangle {
  int x = 0, y = 0, width = 0, height = 0;
  std::array<float, kMaxChannels> fraction{};  // f_g per channel, in [0, 1]
};

// SplitMix64 as a generator (Steele, Lea and Flood 2014; Java's
// SplittableRandom): an image reads a few dozen numbers, and mt19937_64 cost
// a 312-word seeding and a 312-word refill per image, a tenth of the batched
// LTG's time.  Satisfies UniformRandomBitGenerator for the gamma draws.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

class LtgDrawStream {
 public:
  LtgDrawStream(const LtgOptions& options, uint64_t seed);
  // p_1 < p: whether the image is transformed at all (first draw).
  bool draw_apply();
  // One placement try: S_r, r_r, then (x_r, y_r); the rectangle if it fits.
  std::optional<LtgRectangle> draw_placement(int height, int width);
  // f_g(.) for each channel of an accepted rectangle.
  void draw_fractions(LtgRectangle& rect, int channels);

 private:
  double uniform();  // [0, 1), 53 bits
  double fraction();
  LtgOptions options_;
  SplitMix64 engine_;
};

// Everything an image's transformation can use, drawn ahead: the rectangles
// in order, up to max_rectangles accepted or max_attempts tries.
struct LtgPlan {
  bool apply = false;
  std::vector<LtgRectangle> rectangles;
};

LtgPlan plan_ltg(const LtgOptions& options, uint64_t seed, int channels, int height, int width);

}  // namespace rfm::kernels
