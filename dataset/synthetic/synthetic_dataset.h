#pragma once
// The built-in dataset: synthetic pedestrians (pedestrian.h) rendered by
// SYSU-MM01's six cameras or RegDB's visible/thermal pair
// (scene_renderer.h), written in that dataset's published layout so that the
// real readers, validation, packing and training run on it unchanged.
// Deterministic from synthetic.seed; the options are written to
// <output>/synthetic.pbtxt, and a second call with the same options finds
// the dataset there and writes nothing.

#include <cstdint>
#include <string>

#include "rfm_config.pb.h"

namespace rfm::dataset::synthetic {

struct SyntheticSummary {
  std::string output;
  int64_t identities = 0;
  int64_t visible_images = 0;
  int64_t infrared_images = 0;
  bool reused = false;  // found complete with the same options
  double seconds = 0.0;
};

// Throws DatasetError when `output` holds something else (another
// generation's options, or files that are not ours).
SyntheticSummary write_synthetic_dataset(const config::SyntheticConfig& options, const std::string& output,
                                         int threads);

}  // namespace rfm::dataset::synthetic
