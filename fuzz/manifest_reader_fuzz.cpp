// The TSV manifest reader (a dataset in any layout: path, pid, camid,
// modality, split per line) on arbitrary bytes.  Problems are the report's
// entries, each naming the manifest's file and line.

#include <cstdint>
#include <cstdlib>

#include "dataset/dataset_readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = rfm::fuzz::write_input("manifest.tsv", data, size);
  rfm::dataset::ValidationReport report;
  const auto listing = rfm::dataset::list_manifest(path, rfm::fuzz::scratch_folder().string(), report);
  for (const auto& problem : report.problems) {
    if (problem.where.rfind(path, 0) != 0 && problem.where.find(rfm::fuzz::scratch_folder().string()) != 0) {
      std::abort();  // a problem that names neither the manifest nor an image under the root
    }
  }
  for (const auto& record : listing.records) {
    if (record.path.empty()) std::abort();
  }
  return 0;
}
