#include "trainer/kernels/ltg_memory_grid.h"

#include <algorithm>

namespace rfm::kernels {

void LtgMemoryGrid::reset(int channels, int height, int width) {
  channels_ = channels;
  height_ = height;
  width_ = width;
  xs_.assign({0});
  ys_.assign({0});
  // A fresh grid has one cell: capacity is kept from earlier images, nothing copied.
  row_capacity_ = std::max(row_capacity_, 16);
  column_capacity_ = std::max(column_capacity_, 16);
  values_.resize(static_cast<size_t>(channels_) * row_capacity_ * column_capacity_);
  for (int ch = 0; ch < channels_; ++ch) *cell(ch, 0, 0) = 1.0f;
}

void LtgMemoryGrid::reserve(int row_slots, int column_slots) {
  if (row_slots <= row_capacity_ && column_slots <= column_capacity_) return;
  const int new_rows = std::max(row_slots, row_capacity_), new_columns = std::max(column_slots, column_capacity_);
  std::vector<float> grown(static_cast<size_t>(channels_) * new_rows * new_columns);
  for (int ch = 0; ch < channels_; ++ch)
    for (int r = 0; r < rows(); ++r)
      std::copy_n(cell(ch, r, 0), columns(),
                  grown.data() + (static_cast<size_t>(ch) * new_rows + r) * new_columns);
  values_.swap(grown);
  row_capacity_ = new_rows;
  column_capacity_ = new_columns;
}

// The slot of the cells that hold coordinate v: the largest start <= v.
static int holding(const std::vector<int>& starts, int v) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(starts.size()); ++i) {
    if (starts[static_cast<size_t>(i)] <= v && starts[static_cast<size_t>(i)] > starts[static_cast<size_t>(best)]) {
      best = i;
    }
  }
  return best;
}

bool LtgMemoryGrid::add_column(int x) {
  if (x >= width_ || std::find(xs_.begin(), xs_.end(), x) != xs_.end()) return false;
  const int from = holding(xs_, x);
  if (columns() == column_capacity_) reserve(row_capacity_, 2 * column_capacity_);
  const int to = columns();
  xs_.push_back(x);
  for (int ch = 0; ch < channels_; ++ch)
    for (int r = 0; r < rows(); ++r) *cell(ch, r, to) = *cell(ch, r, from);
  return true;
}

bool LtgMemoryGrid::add_row(int y) {
  if (y >= height_ || std::find(ys_.begin(), ys_.end(), y) != ys_.end()) return false;
  const int from = holding(ys_, y);
  if (rows() == row_capacity_) reserve(2 * row_capacity_, column_capacity_);
  const int to = rows();
  ys_.push_back(y);
  for (int ch = 0; ch < channels_; ++ch) std::copy_n(cell(ch, from, 0), columns(), cell(ch, to, 0));
  return true;
}

void LtgMemoryGrid::cut(const LtgRectangle& rect) {
  add_column(rect.x);
  add_column(rect.x + rect.width);
  add_row(rect.y);
  add_row(rect.y + rect.height);
  // With both edges in the grid, a cell is inside exactly when it starts
  // inside.
  inside_columns_.clear();
  for (int c = 0; c < columns(); ++c) {
    const int x = xs_[static_cast<size_t>(c)];
    if (x >= rect.x && x < rect.x + rect.width) inside_columns_.push_back(c);
  }
  inside_rows_.clear();
  for (int r = 0; r < rows(); ++r) {
    const int y = ys_[static_cast<size_t>(r)];
    if (y >= rect.y && y < rect.y + rect.height) inside_rows_.push_back(r);
  }
}

float LtgMemoryGrid::scale(int channel, float factor) {
  float lowest = 2.0f;
  for (int r : inside_rows_) {
    float* cells = cell(channel, r, 0);
    for (int c : inside_columns_) {
      const float m = cells[c] * factor;
      cells[c] = m;
      lowest = m < lowest ? m : lowest;
    }
  }
  return lowest;
}

float LtgMemoryGrid::at(int channel, int y, int x) const {
  const int r = holding(ys_, y), c = holding(xs_, x);
  return values_[(static_cast<size_t>(channel) * row_capacity_ + r) * column_capacity_ + c];
}

}  // namespace rfm::kernels
