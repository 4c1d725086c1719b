#pragma once
// CPython's `random` module, as far as the SYSU-MM01 reference code uses it
// to draw galleries: random.seed(int), random.choice, random.sample.  With
// the same seed and the same sorted file lists, our galleries are the
// reference code's galleries, image for image (tests check values produced
// by CPython 3.11).

#include <cstdint>
#include <vector>

namespace rfm::evaluation {

class PythonRandom {
 public:
  // random.seed(seed) for a non-negative integer: MT19937's init_by_array
  // over the seed's 32-bit words, least significant first.
  explicit PythonRandom(uint64_t seed);

  // random.getrandbits(k), 1 <= k <= 32.
  uint32_t getrandbits(int k);
  // Random._randbelow(n), n >= 1: rejection sampling on bit_length(n) bits.
  uint64_t randbelow(uint64_t n);
  // random.choice(range(n)).
  uint64_t choice(uint64_t n) { return randbelow(n); }
  // random.sample(range(n), k): k distinct indices in draw order.
  std::vector<uint64_t> sample(uint64_t n, uint64_t k);

 private:
  uint32_t next_word();  // genrand_uint32
  std::vector<uint32_t> state_;
  int index_ = 624;
};

}  // namespace rfm::evaluation
