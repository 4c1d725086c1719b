// A pack file (`rfm pack`'s header, protobuf index and pixels) on arbitrary
// bytes: opened as training opens it, every image read with its checksum
// checked, and the listing it holds rebuilt.

#include <cstdint>

#include "dataset/pack_file.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = rfm::fuzz::write_input("input.pack", data, size);
  try {
    const rfm::dataset::PackReader pack(path);
    const auto listing = pack.listing();
    if (static_cast<int64_t>(listing.records.size()) != pack.size()) std::abort();
    for (int64_t i = 0; i < pack.size(); ++i) {
      try {
        rfm::fuzz::expect_whole(pack.image(i, /*verify=*/true));
      } catch (const rfm::dataset::DatasetError& e) {
        rfm::fuzz::expect_named_error(e, path);  // a checksum that does not match
      }
    }
    (void)pack.staleness(listing, pack.height(), pack.width());
  } catch (const rfm::dataset::DatasetError& e) {
    rfm::fuzz::expect_named_error(e, path);
  }
  return 0;
}
