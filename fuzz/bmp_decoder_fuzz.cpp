// The BMP decoder (RegDB's images) on arbitrary bytes.

#include <cstdint>
#include <vector>

#include "dataset/bmp_codec.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  if (!rfm::dataset::looks_like_bmp(bytes)) return 0;
  try {
    const auto image = rfm::dataset::decode_bmp(bytes, "input.bmp");
    rfm::fuzz::expect_whole(image);
  } catch (const rfm::dataset::ImageFileError& e) {
    rfm::fuzz::expect_named_error(e, "input.bmp");
  }
  return 0;
}
