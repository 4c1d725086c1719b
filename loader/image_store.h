#pragma once
// Where the loader gets a training image at the network's size: decoded
// from its file and resized each time, or read from a pack (decoded once).

#include <memory>
#include <string>
#include <vector>

#include "dataset/image.h"
#include "dataset/pack_file.h"
#include "dataset/training_set.h"

namespace rfm::loader {

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // Image `i` of the training set, height x width x 3.  Thread-safe.
  virtual data::ImageU8 load(int64_t i) const = 0;
  virtual std::string describe() const = 0;
};

class FileImageStore : public ImageStore {
 public:
  FileImageStore(const data::TrainingSet& set, std::string root, int height, int width);
  data::ImageU8 load(int64_t i) const override;
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
  PackImageStore(const data::TrainingSet& set, std::shared_ptr<const data::PackReader> pack, bool verify_checksums);
  data::ImageU8 load(int64_t i) const override;
  std::string describe() const override { return "reading the pack " + pack_->path(); }

 private:
  std::shared_ptr<const data::PackReader> pack_;
  std::vector<int64_t> pack_index_;  // training image -> pack image
  bool verify_;
};

}  // namespace rfm::loader
