#pragma once
// Batched embeddings of test images: resized to the network's size (the
// test transform has no pad, crop or flip), normalised, the model in eval
// mode without autograd, optionally averaged with the flipped image's.

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

#include "dataset/image_record.h"
#include "dataset/pack_file.h"
#include "evaluation/feature_set.h"
#include "rfm_config.pb.h"
#include "trainer/model/rfm_model.h"

namespace rfm::evaluation {

// Test images at height x width: read from the pack when it holds them at
// that size and is not stale, decoded and resized from their files otherwise.
class TestImageSource {
 public:
  TestImageSource(const dataset::DatasetListing& listing, const config::DataConfig& data);
  dataset::ImageU8 load(const dataset::ImageRecord& record) const;
  std::string describe() const;

 private:
  const dataset::DatasetListing& listing_;
  int height_, width_;
  std::shared_ptr<dataset::PackReader> pack_;
  std::unordered_map<std::string, int64_t> pack_rows_;
};

struct ExtractionOptions {
  std::vector<float> mean{0.485f, 0.456f, 0.406f}, std{0.229f, 0.224f, 0.225f};
  int batch_size = 64;
  bool flip_average = false;
  int decode_threads = 2;
  torch::Device device = torch::kCPU;
  // Each image's modality from its pixels (guessed_modality) instead of its
  // record: images of unknown origin (`rfm embed` of a folder).
  bool guess_modality = false;
  // Called after each batch with the images done and the total.
  std::function<void(int64_t done, int64_t total)> progress;
};

// Infrared cameras give grey images (the three channels equal up to JPEG's
// chroma noise): an image whose channels differ by less than 2 grey levels
// on average is infrared, any other visible.
dataset::Modality guessed_modality(const dataset::ImageU8& image);

ExtractionOptions extraction_options(const config::RunConfig& config, torch::Device device);

// Embeddings ([N, K*D], not normalised) of `records`, in their order, with
// their labels, paths and the modality each was embedded as (MAM's branch).
// Restores the model's training mode.
FeatureSet extract_features(model::RfmModel& model, const std::vector<dataset::ImageRecord>& records,
                            const TestImageSource& source, const ExtractionOptions& options);

}  // namespace rfm::evaluation
