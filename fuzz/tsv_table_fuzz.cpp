// The run's tables on arbitrary bytes, read as `rfm plot` reads them
// (train_log.tsv and eval_log.tsv, drawn as PNG charts) and `rfm grid
// collect` (the same reader).  The input is train_log.tsv up to its first
// byte 0x00, eval_log.tsv after it (none without one).

#include <cstdint>
#include <cstring>
#include <filesystem>

#include "fuzz/fuzz_support.h"
#include "plot/tsv_table.h"
#include "trainer/run/training_plots.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* split = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t train_size = split != nullptr ? static_cast<size_t>(split - data) : size;
  const std::string train_log = rfm::fuzz::write_input("train_log.tsv", data, train_size);
  const auto eval_log = rfm::fuzz::scratch_folder() / "eval_log.tsv";
  std::filesystem::remove(eval_log);
  if (split != nullptr) rfm::fuzz::write_input("eval_log.tsv", split + 1, size - train_size - 1);
  try {
    const auto table = rfm::plot::read_tsv_table(train_log);
    for (const auto& row : table.rows) {
      if (row.size() != table.header.size()) std::abort();
    }
  } catch (const std::runtime_error& e) {
    rfm::fuzz::expect_named_error(e, train_log);
  }
  try {
    rfm::run::write_training_plots(rfm::fuzz::scratch_folder().string());
  } catch (const std::runtime_error& e) {
    // Either table may be the one at fault; the message names it.
    if (std::string(e.what()).find(rfm::fuzz::scratch_folder().string()) == std::string::npos) {
      rfm::fuzz::expect_named_error(e, train_log);
    }
  }
  return 0;
}
