#pragma once
// NumPy's .npy format for N x D float32 feature matrices, so that features
// move between this codebase and any Python one (numpy.load / numpy.save).
// Written: version 1.0, '<f4', C order, header padded to 64 bytes.  Read:
// versions 1-3, '<f4' or '<f8' (converted), C or Fortran order, 1-D or 2-D.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rfm::evaluation {

// A file that is not a .npy matrix we can read: the message names the file.
class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FloatMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;  // row-major
};

void write_npy(const std::string& path, const FloatMatrix& m);
FloatMatrix read_npy(const std::string& path);

}  // namespace rfm::evaluation
