// The .npy reader (features from another codebase, `rfm evaluate-features`)
// on arbitrary bytes.

#include <cstdint>
#include <cstdlib>

#include "evaluation/npy_file.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = rfm::fuzz::write_input("input.npy", data, size);
  try {
    const auto m = rfm::evaluation::read_npy(path);
    // The matrix it returns is the one its header declares, and no larger
    // than the file could hold (8 bytes a value at most).
    if (m.rows < 0 || m.cols < 0 || m.values.size() != static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols) ||
        m.values.size() > size / 4) {
      std::abort();
    }
  } catch (const rfm::evaluation::NpyError& e) {
    rfm::fuzz::expect_named_error(e, path);
  }
  return 0;
}
