#pragma once
// Image files by content, not by extension: JPEG (libjpeg-turbo), PNG
// (libpng) and BMP (bmp_codec.h, RegDB ships BMP).  Every decoded image is
// RGB (grey and palette images are expanded, alpha is dropped), except a
// grey JPEG read with GreyJpeg::kKeepOneChannel.

#include <string>
#include <vector>

#include "dataset/image.h"

namespace rfm::dataset {

// Decodes `bytes`; `name` only labels errors.  A truncated or otherwise
// damaged file is an error (libjpeg-turbo's warnings included), never a
// partly grey image.
ImageU8 decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
ImageU8 read_image_file(const std::string& path);
std::vector<uint8_t> read_file_bytes(const std::string& path);

// What a one-component (grey) JPEG decodes to.  Its RGB expansion is the
// grey value three times, so a caller that can take one channel and copy
// it afterwards (the loader) saves the expansion and two thirds of any
// per-channel work after it.
enum class GreyJpeg { kExpandToRgb, kKeepOneChannel };

// The same, reusing `image`'s memory (and the calling thread's decoder and
// file buffer): what the loader calls for every training image, where a
// fresh zero-filled image and decoder per file were a tenth of its time.
void decode_image_into(const std::vector<uint8_t>& bytes, const std::string& name, ImageU8& image,
                       GreyJpeg grey = GreyJpeg::kExpandToRgb);
void read_image_file_into(const std::string& path, ImageU8& image, GreyJpeg grey = GreyJpeg::kExpandToRgb);

std::vector<uint8_t> encode_jpeg(const ImageU8& image, int quality);
std::vector<uint8_t> encode_png(const ImageU8& image);
// By the extension of `path`: .jpg/.jpeg, .png or .bmp.  Written to a
// temporary name and renamed, so a reader never sees half a file.
void write_image_file(const std::string& path, const ImageU8& image, int jpeg_quality = 92);

}  // namespace rfm::dataset
