#pragma once
// A random stream that gives the same numbers on every platform and
// standard library: mt19937_64 is specified bit for bit, but the standard
// distributions are not, so the draws below are written out.  Used wherever
// a plan must be reproducible from (seed, epoch, batch, row): the sampler,
// the loader's flips and crops, the synthetic dataset.

#include <cmath>
#include <cstdint>
#include <random>

namespace rfm::dataset {

// SplitMix64 finaliser: decorrelated seeds from structured inputs.
inline uint64_t mix64(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  SeededRandom(uint64_t a, uint64_t b) : engine_(mix64(a, b)) {}
  SeededRandom(uint64_t a, uint64_t b, uint64_t c) : engine_(mix64(mix64(a, b), c)) {}

  uint64_t next() { return engine_(); }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform in [0, n) without modulo bias (rejection of the short tail).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = engine_();
    while (v >= limit);
    return v % n;
  }
  bool chance(double p) { return uniform() < p; }
  // Box-Muller, one value per call.
  double normal(double mean = 0.0, double sd = 1.0) {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace rfm::dataset
