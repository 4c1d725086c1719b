#pragma once
// A pack: every image of a listing decoded and resized once, stored as
// uint8 HWC RGB back to back, read through mmap so that epochs decode no
// JPEG.  Byte layout (little-endian):
//   [0, 8)    magic "RFMPACK1"
//   [8, 16)   index size in bytes
//   [16, 24)  data size in bytes
//   [24, ...) PackIndex (proto/dataset_pack.proto)
//   [data_offset = align(24 + index size, 4096), + data size)  pixels
// The writer writes `<path>.tmp` and renames, so a reader never sees half a
// pack.  Each image carries a CRC32; the index carries a fingerprint of the
// listing it was built from (paths, ids, file sizes and times), so a changed
// dataset or another input size makes the pack stale.

#include <cstdint>
#include <memory>
#include <string>

#include "dataset/dataset_validation.h"
#include "dataset/image.h"
#include "dataset/image_record.h"
#include "dataset/validation_report.h"
#include "dataset_pack.pb.h"

namespace rfm::dataset {

struct PackOptions {
  int height = 384;
  int width = 192;
  CorruptPolicy policy = CorruptPolicy::kFail;
  int threads = 2;
};

// Fingerprint of a listing and of each listed file's size and mtime.  A
// missing file is an error naming it.
uint64_t listing_fingerprint(const DatasetListing& listing);

// Decodes, resizes and writes every record.  A corrupt image is an error
// (DatasetError naming it) or, with kSkip, left out and counted in `report`.
PackIndex write_pack(const std::string& path, const DatasetListing& listing, const PackOptions& options,
                     ValidationReport& report);

class PackReader {
 public:
  // Maps the file and checks its header, index and sizes; DatasetError
  // (naming the file) when it is not a complete pack.
  explicit PackReader(const std::string& path);
  ~PackReader();
  PackReader(const PackReader&) = delete;
  PackReader& operator=(const PackReader&) = delete;

  const PackIndex& index() const { return index_; }
  int64_t size() const { return index_.images_size(); }
  int height() const { return index_.height(); }
  int width() const { return index_.width(); }
  size_t image_bytes() const { return static_cast<size_t>(index_.height()) * index_.width() * index_.channels(); }
  const std::string& path() const { return path_; }

  // Pixels of image i in place (valid while the reader lives).
  const uint8_t* pixels(int64_t i) const;
  // A copy; with `verify` its CRC32 is checked (DatasetError on mismatch).
  ImageU8 image(int64_t i, bool verify) const;
  // The listing the pack holds (images left out by SKIP are absent).
  DatasetListing listing() const;

  // Empty when the pack was built from `listing` at height x width;
  // otherwise why it is stale.
  std::string staleness(const DatasetListing& listing, int height, int width) const;

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  size_t data_offset_ = 0;
  PackIndex index_;
};

uint32_t crc32_of(const uint8_t* data, size_t size);

}  // namespace rfm::dataset
