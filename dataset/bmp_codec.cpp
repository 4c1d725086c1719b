#include "dataset/bmp_codec.h"

#include <cstring>

namespace rfm::dataset {
namespace {

uint32_t u32(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint32_t>(b[at]) | static_cast<uint32_t>(b[at + 1]) << 8 | static_cast<uint32_t>(b[at + 2]) << 16 |
         static_cast<uint32_t>(b[at + 3]) << 24;
}
uint16_t u16(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint16_t>(b[at] | b[at + 1] << 8);
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

// Position of the lowest set bit and width of a BI_BITFIELDS channel mask.
void mask_shift(uint32_t mask, int* shift, int* bits) {
  *shift = 0;
  *bits = 0;
  if (mask == 0) return;
  while (!(mask & 1u)) {
    mask >>= 1;
    ++*shift;
  }
  while (mask & 1u) {
    mask >>= 1;
    ++*bits;
  }
}

}  // namespace

bool looks_like_bmp(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 'B' && bytes[1] == 'M';
}

ImageU8 decode_bmp(const std::vector<uint8_t>& b, const std::string& name) {
  auto fail = [&](const std::string& why) { return ImageFileError(name + ": corrupt BMP: " + why); };
  if (b.size() < 26 || !looks_like_bmp(b)) throw fail("shorter than its headers");
  const uint32_t data_offset = u32(b, 10);
  const uint32_t dib = u32(b, 14);
  if (dib != 12 && dib != 40 && dib != 52 && dib != 56 && dib != 108 && dib != 124) {
    throw fail("unknown header size " + std::to_string(dib));
  }
  if (14ull + dib > b.size()) throw fail("header runs past the end of the file");
  int64_t width, height;
  uint16_t bpp;
  uint32_t compression = 0, colours = 0;
  if (dib == 12) {
    width = u16(b, 18);
    height = static_cast<int16_t>(u16(b, 20));
    bpp = u16(b, 24);
  } else {
    width = static_cast<int32_t>(u32(b, 18));
    height = static_cast<int32_t>(u32(b, 22));
    bpp = u16(b, 28);
    compression = u32(b, 30);
    colours = u32(b, 46);
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  if (const auto problem = image_size_problem(width, height); !problem.empty()) throw fail(problem);
  if (bpp != 8 && bpp != 24 && bpp != 32) throw fail(std::to_string(bpp) + " bits per pixel (8, 24 or 32 supported)");
  // BI_RGB, or BI_BITFIELDS for 32-bit pixels; RLE is not used by re-id data.
  if (!(compression == 0 || (compression == 3 && bpp == 32))) {
    throw fail("compression " + std::to_string(compression) + " (uncompressed only)");
  }
  int shifts[3] = {16, 8, 0}, widths[3] = {8, 8, 8};  // R, G, B of BI_RGB 32-bit
  if (compression == 3) {
    const size_t masks_at = dib >= 52 ? 54 : 14 + dib;
    if (masks_at + 12 > b.size()) throw fail("bit-field masks run past the end of the file");
    for (int c = 0; c < 3; ++c) {
      mask_shift(u32(b, masks_at + 4 * c), &shifts[c], &widths[c]);
      if (widths[c] == 0 || widths[c] > 8) throw fail("unsupported bit-field mask");
    }
  }
  std::vector<uint8_t> palette;  // RGB triples
  if (bpp == 8) {
    const size_t entries = colours == 0 ? 256 : colours;
    const size_t entry = dib == 12 ? 3 : 4;
    const size_t at = 14 + dib;
    if (entries > 256 || at + entries * entry > b.size()) throw fail("palette runs past the end of the file");
    for (size_t i = 0; i < entries; ++i) {
      palette.push_back(b[at + i * entry + 2]);
      palette.push_back(b[at + i * entry + 1]);
      palette.push_back(b[at + i * entry]);
    }
  }
  const size_t stride = ((static_cast<size_t>(bpp) * width + 31) / 32) * 4;
  if (data_offset > b.size() || stride * height > b.size() - data_offset) {
    throw fail("pixel data is truncated (" + std::to_string(b.size()) + " bytes)");
  }
  ImageU8 img(static_cast<int>(height), static_cast<int>(width), 3);
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = b.data() + data_offset + stride * static_cast<size_t>(top_down ? y : height - 1 - y);
    uint8_t* out = img.at(static_cast<int>(y), 0);
    for (int64_t x = 0; x < width; ++x, out += 3) {
      if (bpp == 8) {
        const size_t i = row[x];
        if (3 * i + 2 >= palette.size()) throw fail("palette index " + std::to_string(i) + " out of range");
        std::memcpy(out, &palette[3 * i], 3);
      } else if (bpp == 24) {
        out[0] = row[3 * x + 2];
        out[1] = row[3 * x + 1];
        out[2] = row[3 * x];
      } else {
        const uint8_t* q = row + 4 * x;
        const uint32_t v = q[0] | static_cast<uint32_t>(q[1]) << 8 | static_cast<uint32_t>(q[2]) << 16 |
                           static_cast<uint32_t>(q[3]) << 24;
        for (int c = 0; c < 3; ++c) {
          const uint32_t raw = (v >> shifts[c]) & ((1u << widths[c]) - 1);
          out[c] = static_cast<uint8_t>(raw * 255 / ((1u << widths[c]) - 1));
        }
      }
    }
  }
  return img;
}

std::vector<uint8_t> encode_bmp(const ImageU8& image) {
  if (image.channels != 1 && image.channels != 3) throw std::invalid_argument("encode_bmp: 1 or 3 channels");
  const int bpp = image.channels == 1 ? 8 : 24;
  const uint32_t stride = ((bpp * image.width + 31) / 32) * 4;
  const uint32_t palette_bytes = image.channels == 1 ? 256 * 4 : 0;
  const uint32_t offset = 14 + 40 + palette_bytes;
  std::vector<uint8_t> b;
  b.reserve(offset + stride * image.height);
  b.push_back('B');
  b.push_back('M');
  put32(b, offset + stride * image.height);
  put32(b, 0);
  put32(b, offset);
  put32(b, 40);
  put32(b, static_cast<uint32_t>(image.width));
  put32(b, static_cast<uint32_t>(image.height));  // bottom-up
  put16(b, 1);
  put16(b, static_cast<uint16_t>(bpp));
  put32(b, 0);
  put32(b, stride * image.height);
  put32(b, 2835);  // 72 dpi
  put32(b, 2835);
  put32(b, image.channels == 1 ? 256 : 0);
  put32(b, 0);
  for (int i = 0; image.channels == 1 && i < 256; ++i) {
    for (int k = 0; k < 3; ++k) b.push_back(static_cast<uint8_t>(i));
    b.push_back(0);
  }
  for (int y = image.height - 1; y >= 0; --y) {
    const uint8_t* p = image.at(y, 0);
    for (int x = 0; x < image.width; ++x, p += image.channels) {
      if (image.channels == 1) {
        b.push_back(p[0]);
      } else {
        b.push_back(p[2]);
        b.push_back(p[1]);
        b.push_back(p[0]);
      }
    }
    for (uint32_t pad = (bpp / 8) * image.width; pad < stride; ++pad) b.push_back(0);
  }
  return b;
}

}  // namespace rfm::dataset
