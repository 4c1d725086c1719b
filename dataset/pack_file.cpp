#include "dataset/pack_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dataset/image_codec.h"
#include "dataset/image_resize.h"
#include "dataset/training_set.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

constexpr char kMagic[8] = {'R', 'F', 'M', 'P', 'A', 'C', 'K', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeader = 24;
constexpr size_t kAlign = 4096;

void put_u64(std::ostream& out, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  out.write(reinterpret_cast<const char*>(b), 8);
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

FileStamp stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw DatasetError(path + ": cannot stat (" + std::strerror(errno) + ")");
  return {static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

uint32_t crc32_of(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

uint64_t listing_fingerprint(const DatasetListing& listing) {
  uint64_t h = fnv1a(nullptr, 0);
  for (const auto& r : listing.records) {
    const auto s = stamp(listing.full_path(r));
    h = fnv1a(r.path.data(), r.path.size() + 1, h);
    const int64_t fields[6] = {r.pid, r.camid, static_cast<int64_t>(r.modality), static_cast<int64_t>(r.split),
                               static_cast<int64_t>(s.size), s.mtime_ns};
    h = fnv1a(fields, sizeof fields, h);
  }
  return h;
}

PackIndex write_pack(const std::string& path, const DatasetListing& listing, const PackOptions& options,
                     ValidationReport& report) {
  if (options.height <= 0 || options.width <= 0) throw std::invalid_argument("write_pack: empty image size");
  PackIndex index;
  index.set_format_version(kFormatVersion);
  index.set_dataset(listing.name);
  index.set_root(listing.root);
  index.set_height(options.height);
  index.set_width(options.width);
  index.set_channels(3);
  index.set_listing_fingerprint(listing_fingerprint(listing));
  const size_t image_bytes = static_cast<size_t>(options.height) * options.width * 3;

  // Decode in parallel in chunks, write in listing order: memory stays at
  // one chunk of images whatever the dataset's size.
  const std::string tmp = path + ".tmp";
  const std::string data_tmp = path + ".data.tmp";
  std::ofstream data(data_tmp, std::ios::binary | std::ios::trunc);
  if (!data) throw DatasetError(data_tmp + ": cannot create (" + std::strerror(errno) + ")");
  const size_t n = listing.records.size();
  const size_t chunk = 256;
  uint64_t offset = 0;
  for (size_t begin = 0; begin < n; begin += chunk) {
    const size_t end = std::min(n, begin + chunk);
    std::vector<ImageU8> images(end - begin);
    std::vector<std::string> failure(end - begin);
    std::atomic<size_t> next{begin};
    auto work = [&] {
      for (size_t i = next++; i < end; i = next++) {
        try {
          images[i - begin] = resize_bilinear(read_image_file(listing.full_path(listing.records[i])), options.height,
                                              options.width);
        } catch (const std::exception& e) {
          failure[i - begin] = e.what();
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, options.threads); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (size_t i = begin; i < end; ++i) {
      const auto& r = listing.records[i];
      const std::string full = listing.full_path(r);
      if (!failure[i - begin].empty()) {
        std::string why = failure[i - begin];
        if (why.rfind(full + ": ", 0) == 0) why = why.substr(full.size() + 2);
        if (options.policy == CorruptPolicy::kSkip) {
          report.warning(full, why + " (skipped)");
          ++report.corrupt_skipped;
          continue;
        }
        data.close();
        fs::remove(data_tmp);
        throw DatasetError(full + ": " + why + " (data.corrupt_images = FAIL)");
      }
      const auto& img = images[i - begin];
      const auto s = stamp(full);
      auto* e = index.add_images();
      e->set_path(r.path);
      e->set_pid(r.pid);
      e->set_camid(r.camid);
      e->set_modality(static_cast<int>(r.modality));
      e->set_split(static_cast<int>(r.split));
      e->set_offset(offset);
      e->set_crc32(crc32_of(img.pixels.data(), image_bytes));
      e->set_source_size(s.size);
      e->set_source_mtime_ns(s.mtime_ns);
      data.write(reinterpret_cast<const char*>(img.pixels.data()), static_cast<std::streamsize>(image_bytes));
      offset += image_bytes;
      ++report.images_decoded;
    }
  }
  data.close();
  if (!data) throw DatasetError(data_tmp + ": write failed");
  index.set_skipped_corrupt(static_cast<uint64_t>(report.corrupt_skipped));

  std::string index_bytes;
  index.SerializeToString(&index_bytes);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw DatasetError(tmp + ": cannot create (" + std::strerror(errno) + ")");
    out.write(kMagic, 8);
    put_u64(out, index_bytes.size());
    put_u64(out, offset);
    out.write(index_bytes.data(), static_cast<std::streamsize>(index_bytes.size()));
    const size_t header_end = kHeader + index_bytes.size();
    const size_t data_offset = (header_end + kAlign - 1) / kAlign * kAlign;
    const std::string zeros(data_offset - header_end, '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    std::ifstream in(data_tmp, std::ios::binary);
    out << in.rdbuf();
    out.flush();
    if (!out) throw DatasetError(tmp + ": write failed (disk full?)");
  }
  fs::remove(data_tmp);
  fs::rename(tmp, path);
  return index;
}

PackReader::PackReader(const std::string& path) : path_(path) {
  auto fail = [&](const std::string& why) { return DatasetError(path + ": " + why + "; rebuild it with `rfm pack`"); };
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw DatasetError(path + ": cannot open pack (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || st.st_size < static_cast<off_t>(kHeader)) {
    ::close(fd_);
    fd_ = -1;
    throw fail("not a pack (shorter than its header)");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (m == MAP_FAILED) {
    ::close(fd_);
    fd_ = -1;
    throw DatasetError(path + ": mmap failed (" + std::strerror(errno) + ")");
  }
  map_ = static_cast<const uint8_t*>(m);
  try {
    if (std::memcmp(map_, kMagic, 8) != 0) throw fail("not a pack (bad magic)");
    const uint64_t index_size = get_u64(map_ + 8), data_size = get_u64(map_ + 16);
    if (index_size > map_size_ - kHeader) throw fail("corrupt pack (index runs past the end of the file)");
    if (!index_.ParseFromArray(map_ + kHeader, static_cast<int>(index_size))) throw fail("corrupt pack (index does not parse)");
    if (index_.format_version() != kFormatVersion) {
      throw fail("pack format " + std::to_string(index_.format_version()) + ", this build reads " +
                 std::to_string(kFormatVersion));
    }
    if (index_.height() <= 0 || index_.width() <= 0 || index_.channels() != 3) throw fail("corrupt pack (image size)");
    data_offset_ = (kHeader + index_size + kAlign - 1) / kAlign * kAlign;
    if (data_offset_ > map_size_ || data_size > map_size_ - data_offset_) {
      throw fail("truncated pack (" + std::to_string(map_size_) + " bytes, the index promises " +
                 std::to_string(data_offset_ + data_size) + ")");
    }
    for (const auto& e : index_.images()) {
      if (e.offset() > data_size || image_bytes() > data_size - e.offset()) {
        throw fail("corrupt pack (image " + e.path() + " lies outside the data region)");
      }
    }
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(map_), map_size_);
    ::close(fd_);
    throw;
  }
  // Epochs read in random order; tell the kernel not to read ahead.
  ::madvise(const_cast<uint8_t*>(map_), map_size_, MADV_RANDOM);
}

PackReader::~PackReader() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
  if (fd_ >= 0) ::close(fd_);
}

const uint8_t* PackReader::pixels(int64_t i) const {
  if (i < 0 || i >= size()) throw std::out_of_range("pack image " + std::to_string(i) + " of " + std::to_string(size()));
  return map_ + data_offset_ + index_.images(static_cast<int>(i)).offset();
}

ImageU8 PackReader::image(int64_t i, bool verify) const {
  const uint8_t* p = pixels(i);
  const auto& e = index_.images(static_cast<int>(i));
  if (verify && crc32_of(p, image_bytes()) != e.crc32()) {
    throw DatasetError(path_ + ": image " + std::to_string(i) + " (" + e.path() +
                       ") fails its checksum: corrupt pack; rebuild it with `rfm pack`");
  }
  ImageU8 img(index_.height(), index_.width(), 3);
  std::memcpy(img.pixels.data(), p, image_bytes());
  return img;
}

DatasetListing PackReader::listing() const {
  DatasetListing l;
  l.name = index_.dataset();
  l.root = index_.root();
  for (const auto& e : index_.images()) {
    ImageRecord r;
    r.path = e.path();
    r.pid = e.pid();
    r.camid = e.camid();
    r.modality = static_cast<Modality>(e.modality());
    r.split = static_cast<Split>(e.split());
    l.records.push_back(std::move(r));
  }
  return l;
}

std::string PackReader::staleness(const DatasetListing& listing, int height, int width) const {
  if (height != index_.height() || width != index_.width()) {
    return "built at " + std::to_string(index_.height()) + "x" + std::to_string(index_.width()) +
           ", the configuration asks for " + std::to_string(height) + "x" + std::to_string(width);
  }
  uint64_t now = 0;
  try {
    now = listing_fingerprint(listing);
  } catch (const DatasetError& e) {
    return std::string("the dataset changed since packing (") + e.what() + ")";
  }
  if (now != index_.listing_fingerprint()) {
    return "the dataset changed since packing (files added, removed or modified under " + listing.root + ")";
  }
  return "";
}

}  // namespace rfm::dataset
