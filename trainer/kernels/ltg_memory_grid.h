#pragma once
// Algorithm 1's memory M (per channel, the product of the factors of the
// rectangles over each pixel) without a value per pixel.  M is constant on
// each cell of the grid that the rectangles' edges cut the image into, so
// it is kept per cell: at most (2k + 1)^2 cells after k rectangles, against
// C x H x W floats that had to be filled with ones for every image and then
// read and written beside the pixels (884 KB at 384x192, which with the
// image itself no longer fits a 1 MB L2).
//
// Each rectangle first cuts the grid along its edges (both halves of a cut
// cell keep its value), then multiplies the cells inside it.  A cell is
// multiplied by the same factors in the same order as each of its pixels
// would be, so it holds exactly the float the per-pixel M holds, and the
// minimum over the cells inside a rectangle is the minimum over its pixels.

#include <vector>

#include "trainer/kernels/ltg_draws.h"

namespace rfm::kernels {

class LtgMemoryGrid {
 public:
  // One cell per channel, M = 1.
  void reset(int channels, int height, int width);
  // Cuts the grid along the rectangle's edges; scale() then works on it.
  void cut(const LtgRectangle& rect);
  // Multiplies channel c's cells inside the last cut rectangle by factor and
  // returns the smallest product (or 2 if every product is larger: the
  // caller compares it with t_min < 1).
  float scale(int channel, float factor);

  int columns() const { return static_cast<int>(xs_.size()); }
  int rows() const { return static_cast<int>(ys_.size()); }
  // M at pixel (y, x) of channel c, for tests.
  float at(int channel, int y, int x) const;

 private:
  // Cells are kept in the order their edges arrived, not sorted: a new edge
  // adds one row or column of cells, a copy of the one it splits, instead
  // of rebuilding the grid.  Slot i of xs_ is the column of cells that
  // starts at x = xs_[i] and ends at the next larger edge.
  bool add_column(int x);
  bool add_row(int y);
  void reserve(int row_slots, int column_slots);
  float* cell(int channel, int row, int column) {
    return values_.data() + (static_cast<size_t>(channel) * row_capacity_ + row) * column_capacity_ + column;
  }

  int channels_ = 0, height_ = 0, width_ = 0;
  std::vector<int> xs_, ys_;  // cell starts, in arrival order
  std::vector<float> values_;
  int row_capacity_ = 0, column_capacity_ = 0;
  std::vector<int> inside_rows_, inside_columns_;  // the last cut rectangle's cells
};

}  // namespace rfm::kernels
