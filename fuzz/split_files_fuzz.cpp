// The split files of the published layouts on arbitrary bytes: SYSU-MM01's
// and LLCM's id lists ("1,2,3") and RegDB's and LLCM's 'path label' indexes.
// Problems are the report's entries, each naming the file (and line).

#include <cstdint>
#include <cstdlib>

#include "dataset/split_files.h"
#include "fuzz/fuzz_support.h"

namespace {

void expect_named(const rfm::dataset::ValidationReport& report, const std::string& path) {
  for (const auto& problem : report.problems) {
    if (problem.where.rfind(path, 0) != 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    const std::string path = rfm::fuzz::write_input("test_id.txt", data, size);
    rfm::dataset::ValidationReport report;
    const auto ids = rfm::dataset::read_id_file(path, report);
    expect_named(report, path);
    for (const int64_t id : ids) (void)rfm::dataset::pid_folder(id);
  }
  {
    const std::string path = rfm::fuzz::write_input("train_visible_1.txt", data, size);
    rfm::dataset::ValidationReport report;
    rfm::dataset::DatasetListing listing;
    rfm::dataset::read_path_label_index(rfm::fuzz::scratch_folder(), path, rfm::dataset::Modality::kVisible,
                                        rfm::dataset::Split::kTrain, [](const std::string&) { return 1; }, listing,
                                        report);
    for (const auto& problem : report.problems) {
      // The index's own line, or an image it names under the root.
      if (problem.where.rfind(rfm::fuzz::scratch_folder().string(), 0) != 0) std::abort();
    }
  }
  return 0;
}
