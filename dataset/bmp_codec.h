#pragma once
// Windows BMP: uncompressed 8-bit (palette), 24-bit and 32-bit images,
// bottom-up or top-down, which covers RegDB's files.  Every size and offset
// is checked against the buffer before it is used.

#include <string>
#include <vector>

#include "dataset/image.h"

namespace rfm::dataset {

bool looks_like_bmp(const std::vector<uint8_t>& bytes);
ImageU8 decode_bmp(const std::vector<uint8_t>& bytes, const std::string& name);
// 1 channel: 8-bit with a grey palette; 3 channels: 24-bit.
std::vector<uint8_t> encode_bmp(const ImageU8& image);

}  // namespace rfm::dataset
