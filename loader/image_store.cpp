#include "loader/image_store.h"

#include <filesystem>
#include <unordered_map>

#include "dataset/image_codec.h"
#include "dataset/image_resize.h"

namespace rfm::loader {

void ImageStore::write_transformed(int64_t i, const TrainTransformOptions& transform, uint64_t seed,
                                   uint8_t* chw) const {
  write_transformed_chw(load(i), transform, seed, chw);
}

FileImageStore::FileImageStore(const dataset::TrainingSet& set, std::string root, int height, int width)
    : root_(std::move(root)), height_(height), width_(width) {
  dataset::DatasetListing l;
  l.root = root_;
  for (const auto& r : set.images) paths_.push_back(l.full_path(r));
}

dataset::ImageU8 FileImageStore::load(int64_t i) const {
  auto img = dataset::read_image_file(paths_.at(static_cast<size_t>(i)));
  return dataset::resize_bilinear(img, height_, width_);
}

void FileImageStore::write_transformed(int64_t i, const TrainTransformOptions& transform, uint64_t seed,
                                       uint8_t* chw) const {
  // Each loader thread decodes into the same buffer, so only a larger
  // image than any before allocates (and zero-fills) memory.  A grey JPEG
  // (an infrared camera's) stays one channel through the resize.
  thread_local dataset::ImageU8 decoded;
  dataset::read_image_file_into(paths_.at(static_cast<size_t>(i)), decoded, dataset::GreyJpeg::kKeepOneChannel);
  write_resized_transformed_chw(decoded, height_, width_, transform, seed, chw);
}

PackImageStore::PackImageStore(const dataset::TrainingSet& set, std::shared_ptr<const dataset::PackReader> pack,
                               bool verify_checksums)
    : pack_(std::move(pack)), verify_(verify_checksums) {
  std::unordered_map<std::string, int64_t> by_path;
  for (int64_t i = 0; i < pack_->size(); ++i) by_path.emplace(pack_->index().images(static_cast<int>(i)).path(), i);
  for (const auto& r : set.images) {
    const auto it = by_path.find(r.path);
    if (it == by_path.end()) {
      throw dataset::DatasetError(pack_->path() + ": has no image " + r.path + "; rebuild it with `rfm pack`");
    }
    pack_index_.push_back(it->second);
  }
}

dataset::ImageU8 PackImageStore::load(int64_t i) const { return pack_->image(pack_index_.at(static_cast<size_t>(i)), verify_); }

}  // namespace rfm::loader
