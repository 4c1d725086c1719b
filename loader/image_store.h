#pragma once
// Where the loader gets a training image at the network's size: decoded
// from its file and resized each time, or read from a pack (decoded once).

#include <memory>
#include <string>
#include <vector>

#include "dataset/image.h"
#include "dataset/pack_file.h"
#include "dataset/training_set.h"
#include "loader/train_transform.h"

namespace rfm::loader {

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // Image `i` of the training set, height x width x 3.  Thread-safe.
  virtual dataset::ImageU8 load(int64_t i) const = 0;
  // Image `i` augmented as write_transformed_chw does with `seed`, written
  // as 3 planes of height() x width().  Thread-safe.
  virtual void write_transformed(int64_t i, const TrainTransformOptions& transform, uint64_t seed,
                                 uint8_t* chw) const;
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual std::string describe() const = 0;
};

class FileImageStore : public ImageStore {
 public:
  FileImageStore(const dataset::TrainingSet& set, std::string root, int height, int width);
  dataset::ImageU8 load(int64_t i) const override;
  // Decodes, then resizes only the pixels the crop keeps, straight into
  // the planes (bit-identical to load() and write_transformed_chw).
  void write_transformed(int64_t i, const TrainTransformOptions& transform, uint64_t seed,
                         uint8_t* chw) const override;
  int height() const override { return height_; }
  int width() const override { return width_; }
  std::string describe() const override { return "decoding image files under " + root_; }

 private:
  std::vector<std::string> paths_;
  std::string root_;
  int height_, width_;
};

class PackImageStore : public ImageStore {
 public:
  // The training set's images must all be in the pack (DatasetError
  // naming the first missing one otherwise).
  PackImageStore(const dataset::TrainingSet& set, std::shared_ptr<const dataset::PackReader> pack, bool verify_checksums);
  dataset::ImageU8 load(int64_t i) const override;
  int height() const override { return pack_->height(); }
  int width() const override { return pack_->width(); }
  std::string describe() const override { return "reading the pack " + pack_->path(); }

 private:
  std::shared_ptr<const dataset::PackReader> pack_;
  std::vector<int64_t> pack_index_;  // training image -> pack image
  bool verify_;
};

}  // namespace rfm::loader
