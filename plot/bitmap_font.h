#pragma once
// A 5x7 pixel font for the labels of our PNG plots: digits, Latin letters
// (lower case drawn as upper case) and the punctuation axis labels need.

#include <array>
#include <cstdint>

namespace rfm::plot {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = 6;  // one blank column between characters

// Row r of character c (bit 4 = leftmost column); unknown characters are
// drawn as a hollow box.
uint8_t glyph_row(char c, int row);

}  // namespace rfm::plot
