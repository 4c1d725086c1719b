#include "dataset/validation_report.h"

#include <algorithm>

namespace rfm::dataset {

int64_t ValidationReport::errors() const {
  return std::count_if(problems.begin(), problems.end(), [](const DatasetProblem& p) { return p.error; });
}

int64_t ValidationReport::warnings() const { return static_cast<int64_t>(problems.size()) - errors(); }

void ValidationReport::print(std::ostream& out) const {
  for (const auto& p : problems) out << (p.error ? "error: " : "warning: ") << p.where << ": " << p.message << "\n";
  out << images_listed << " images listed, " << images_decoded << " decoded, " << corrupt_skipped
      << " corrupt skipped; " << errors() << " errors, " << warnings() << " warnings\n";
}

std::string ValidationReport::first_error_line(const std::string& dataset) const {
  for (const auto& p : problems) {
    if (!p.error) continue;
    const int64_t n = errors();
    std::string line = dataset + ": " + p.where + ": " + p.message;
    if (n > 1) line += " (and " + std::to_string(n - 1) + " more; `rfm validate` lists them all)";
    return line;
  }
  return dataset + ": no errors";
}

}  // namespace rfm::dataset
