// The image decoders' wrappers (JPEG through libjpeg-turbo, PNG through
// libpng, BMP), chosen by content as for every dataset image, both as a
// fresh image and into a reused one, grey JPEGs kept as one channel (the
// loader's way).

#include <cstdint>
#include <vector>

#include "dataset/image_codec.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    rfm::fuzz::expect_whole(rfm::dataset::decode_image(bytes, "input.img"));
  } catch (const rfm::dataset::ImageFileError& e) {
    rfm::fuzz::expect_named_error(e, "input.img");
  }
  // The loader's path: the same thread's decoder and image reused, so a
  // failed decode must leave nothing behind that breaks the next one.
  static rfm::dataset::ImageU8 reused;
  try {
    rfm::dataset::decode_image_into(bytes, "input.img", reused, rfm::dataset::GreyJpeg::kKeepOneChannel);
    rfm::fuzz::expect_whole(reused);
  } catch (const rfm::dataset::ImageFileError& e) {
    rfm::fuzz::expect_named_error(e, "input.img");
  }
  return 0;
}
