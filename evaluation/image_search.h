#pragma once
// `rfm embed` and `rfm search` as library calls: a trained model's
// embeddings of any images (a folder, searched recursively, or a TSV
// manifest), written as a feature directory (feature_set.h: the images are
// its gallery, its query set is empty), and the gallery images nearest to
// query images, printed and drawn as the evaluation's rank lists draw them.

#include <ostream>
#include <string>
#include <vector>

#include "evaluation/feature_set.h"
#include "rfm_config.pb.h"

namespace rfm::evaluation {

enum class ModalityChoice {
  kAuto,      // each image's from its pixels (grey: infrared), or the manifest's column
  kVisible,
  kInfrared,
};
// "auto", "visible", "infrared"; std::invalid_argument otherwise.
ModalityChoice parse_modality_choice(const std::string& name);

struct EmbedRequest {
  std::string checkpoint;   // an rfm checkpoint (its configuration builds the model)
  std::string images;       // a folder, or a TSV manifest file (path pid camid modality split)
  std::string out_dir;
  ModalityChoice modality = ModalityChoice::kAuto;
  // Device, threads, batch size, flip averaging and the input size's
  // normalisation: the checkpoint's configuration with these overrides.
  std::vector<std::string> overrides;
  bool progress_bar = false;  // redraw one line (a terminal); else a line per 10%
};

// The written directory's contents.  Errors name the file: an unreadable
// or foreign checkpoint (model_io::CheckpointError), a folder without images
// or a malformed manifest (dataset::DatasetError), an unreadable image
// (dataset::ImageFileError).
FeatureDirectory run_embed(const EmbedRequest& request, std::ostream& log);

struct SearchHit {
  int64_t row;  // in the directory's gallery
  std::string path;
  double distance;
};

struct SearchRequest {
  std::string features_dir;  // written by `rfm embed`
  std::vector<std::string> queries;  // image files
  int top_k = 10;
  // "": the checkpoint the features were embedded with (features.pbtxt).
  std::string checkpoint;
  ModalityChoice modality = ModalityChoice::kAuto;
  std::vector<std::string> overrides;
  std::string out_png;  // "": <features_dir>/search.png
};

// For each query its top_k gallery hits, nearest first (the evaluation's
// distance and normalisation).  The checkpoint must have the architecture
// the features were embedded with: another is refused, naming both.
std::vector<std::vector<SearchHit>> run_search(const SearchRequest& request, std::ostream& log);

}  // namespace rfm::evaluation
