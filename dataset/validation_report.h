#pragma once
// Problems found while listing and checking a dataset.  Errors make the
// dataset unusable; warnings (a test identity seen in one modality, an image
// skipped by the SKIP policy) are reported and training goes on.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rfm::dataset {

struct DatasetProblem {
  bool error = true;
  std::string where;    // file, or file:line
  std::string message;
};

struct ValidationReport {
  std::vector<DatasetProblem> problems;
  int64_t images_listed = 0;
  int64_t images_decoded = 0;
  int64_t corrupt_skipped = 0;

  void error(const std::string& where, const std::string& message) { problems.push_back({true, where, message}); }
  void warning(const std::string& where, const std::string& message) { problems.push_back({false, where, message}); }
  int64_t errors() const;
  int64_t warnings() const;
  bool ok() const { return errors() == 0; }
  // "error: FILE: message" per problem, then a summary line.
  void print(std::ostream& out) const;
  // One line for an exception: the count and the first error.
  std::string first_error_line(const std::string& dataset) const;
};

}  // namespace rfm::dataset
