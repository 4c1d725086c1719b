#include "plot/tsv_table.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rfm::plot {
namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, '\t')) out.push_back(cell);
  return out;
}

}  // namespace

int TsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

double TsvTable::number(size_t row, int column) const {
  try {
    return std::stod(rows.at(row).at(static_cast<size_t>(column)));
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": row " + std::to_string(row + 2) + ", column " +
                             (column >= 0 && static_cast<size_t>(column) < header.size()
                                  ? header[static_cast<size_t>(column)]
                                  : std::to_string(column)) +
                             ": not a number");
  }
}

TsvTable read_tsv_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  TsvTable t;
  t.path = path;
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": empty (no header)");
  t.header = split_tabs(line);
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    auto cells = split_tabs(line);
    if (cells.size() != t.header.size()) {
      if (in.peek() == EOF) break;
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + std::to_string(cells.size()) +
                               " columns, the header has " + std::to_string(t.header.size()));
    }
    t.rows.push_back(std::move(cells));
  }
  return t;
}

}  // namespace rfm::plot
