#include "dataset/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "dataset/bmp_codec.h"

namespace rfm::dataset {
namespace {

struct TjHandle {
  explicit TjHandle(tjhandle h) : handle(h) {}
  ~TjHandle() {
    if (handle) tjDestroy(handle);
  }
  TjHandle(const TjHandle&) = delete;
  TjHandle& operator=(const TjHandle&) = delete;
  tjhandle handle;
};

bool is_jpeg(const std::vector<uint8_t>& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool is_png(const std::vector<uint8_t>& b) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::memcmp(b.data(), sig, 8) == 0;
}

// One decompressor per thread: creating one allocates and initialises
// libjpeg's state, which for a 288x144 image costs about as much as the
// header parse.  After a failed decode the handle is dropped and the next
// file gets a fresh one: libjpeg-turbo leaves a handle that stopped on an
// error in a state where later files fail too.
struct ThreadDecompressor {
  std::unique_ptr<TjHandle> tj;
  tjhandle get() {
    if (!tj) {
      tj = std::make_unique<TjHandle>(tjInitDecompress());
      if (!tj->handle) {
        tj.reset();
        throw std::runtime_error("libjpeg-turbo: cannot create a decompressor");
      }
    }
    return tj->handle;
  }
};

void decode_jpeg_into(const std::vector<uint8_t>& bytes, const std::string& name, ImageU8& img, GreyJpeg grey) {
  thread_local ThreadDecompressor decompressor;
  tjhandle tj = decompressor.get();
  auto fail = [&](const std::string& why) {
    decompressor.tj.reset();
    throw ImageFileError(name + ": corrupt JPEG: " + why);
  };
  int width = 0, height = 0, subsamp = 0, colourspace = 0;
  auto* data = const_cast<unsigned char*>(bytes.data());
  if (tjDecompressHeader3(tj, data, bytes.size(), &width, &height, &subsamp, &colourspace) != 0) {
    fail(tjGetErrorStr2(tj));
  }
  if (const auto problem = image_size_problem(width, height); !problem.empty()) fail(problem);
  const bool one_channel = grey == GreyJpeg::kKeepOneChannel && colourspace == TJCS_GRAY;
  img.height = height;
  img.width = width;
  img.channels = one_channel ? 1 : 3;
  img.pixels.resize(static_cast<size_t>(height) * width * img.channels);
  // STOPONWARNING: a truncated file is an error, not an image with a grey tail.
  if (tjDecompress2(tj, data, bytes.size(), img.pixels.data(), width, 0, height, one_channel ? TJPF_GRAY : TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0) {
    fail(tjGetErrorStr2(tj));
  }
}

ImageU8 decode_png(const std::vector<uint8_t>& bytes, const std::string& name) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    throw ImageFileError(name + ": corrupt PNG: " + png.message);
  }
  png.format = PNG_FORMAT_RGB;
  if (const auto problem = image_size_problem(png.width, png.height); !problem.empty()) {
    png_image_free(&png);
    throw ImageFileError(name + ": corrupt PNG: " + problem);
  }
  ImageU8 img(static_cast<int>(png.height), static_cast<int>(png.width), 3);
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw ImageFileError(name + ": corrupt PNG: " + why);
  }
  return img;
}

std::string lower_extension(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext;
}

}  // namespace

namespace {

// The whole file in one read, into `bytes` (resized to its length).
void read_file_bytes_into(const std::string& path, std::vector<uint8_t>& bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw ImageFileError(path + ": cannot open (" + std::strerror(errno) + ")");
  // A directory opens too, and then reports a size of 2^63 - 1.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ImageFileError(path + ": not a regular file");
  const std::streamoff size = in.tellg();
  if (size < 0) throw ImageFileError(path + ": cannot tell its size");
  bytes.resize(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw ImageFileError(path + ": read error");
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::vector<uint8_t> bytes;
  read_file_bytes_into(path, bytes);
  return bytes;
}

void decode_image_into(const std::vector<uint8_t>& bytes, const std::string& name, ImageU8& image, GreyJpeg grey) {
  if (bytes.empty()) throw ImageFileError(name + ": empty file");
  if (is_jpeg(bytes)) return decode_jpeg_into(bytes, name, image, grey);
  if (is_png(bytes)) {
    image = decode_png(bytes, name);
    return;
  }
  if (looks_like_bmp(bytes)) {
    image = decode_bmp(bytes, name);
    return;
  }
  throw ImageFileError(name + ": not a JPEG, PNG or BMP image");
}

ImageU8 decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  ImageU8 image;
  decode_image_into(bytes, name, image);
  return image;
}

ImageU8 read_image_file(const std::string& path) { return decode_image(read_file_bytes(path), path); }

void read_image_file_into(const std::string& path, ImageU8& image, GreyJpeg grey) {
  thread_local std::vector<uint8_t> bytes;
  read_file_bytes_into(path, bytes);
  decode_image_into(bytes, path, image, grey);
}

std::vector<uint8_t> encode_jpeg(const ImageU8& image, int quality) {
  TjHandle tj(tjInitCompress());
  if (!tj.handle) throw std::runtime_error("libjpeg-turbo: cannot create a compressor");
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int subsamp = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_444;
  if (tjCompress2(tj.handle, image.pixels.data(), image.width, 0, image.height, format, &out, &size, subsamp, quality,
                  0) != 0) {
    throw std::runtime_error(std::string("libjpeg-turbo: ") + tjGetErrorStr2(tj.handle));
  }
  std::vector<uint8_t> bytes(out, out + size);
  tjFree(out);
  return bytes;
}

std::vector<uint8_t> encode_png(const ImageU8& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(std::string("libpng: ") + png.message);
  }
  std::vector<uint8_t> bytes(size);
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(std::string("libpng: ") + png.message);
  }
  bytes.resize(size);
  return bytes;
}

void write_image_file(const std::string& path, const ImageU8& image, int jpeg_quality) {
  const auto ext = lower_extension(path);
  std::vector<uint8_t> bytes;
  if (ext == ".jpg" || ext == ".jpeg") bytes = encode_jpeg(image, jpeg_quality);
  else if (ext == ".png") bytes = encode_png(image);
  else if (ext == ".bmp") bytes = encode_bmp(image);
  else throw std::invalid_argument(path + ": unknown image extension (.jpg, .png or .bmp)");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ImageFileError(tmp + ": cannot create (" + std::strerror(errno) + ")");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw ImageFileError(tmp + ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace rfm::dataset
