#pragma once
// The tab-separated logs charts are drawn from (train_log.tsv, eval_log.tsv):
// a header row, then rows of as many cells.

#include <string>
#include <vector>

namespace rfm::plot {

struct TsvTable {
  std::string path;  // named in errors
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // The column's position, or -1.
  int column(const std::string& name) const;
  // The cell as a number; std::runtime_error naming the file, row and column.
  double number(size_t row, int column) const;
};

// Reads a table.  A short last line (a run killed mid-write) is dropped; a
// short line elsewhere is an error naming the file and line.
TsvTable read_tsv_table(const std::string& path);

}  // namespace rfm::plot
