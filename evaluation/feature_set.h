#pragma once
// Embeddings with their labels, and the exported feature directory:
//   query.npy, query_labels.txt ('pid camid' per line), query_paths.txt,
//   gallery.npy, gallery_labels.txt, gallery_paths.txt, features.pbtxt,
//   and <role>_modalities.txt ('visible' or 'infrared' per line) where the
//   modality of each row is known.
// The paths and modalities files and features.pbtxt are optional when
// reading (features from another codebase); the labels must match the
// matrices row for row.

#include <string>
#include <vector>

#include "dataset/image_record.h"
#include "evaluation/npy_file.h"
#include "evaluation/ranking_metrics.h"
#include "evaluation_report.pb.h"

namespace rfm::evaluation {

struct FeatureSet {
  FloatMatrix features;            // N x D
  Labels labels;
  std::vector<std::string> paths;  // empty or N, relative to the export's image_root
  std::vector<dataset::Modality> modality;  // empty or N
  int64_t size() const { return features.rows; }
};

struct FeatureDirectory {
  FeatureExport meta;
  FeatureSet query, gallery;
};

// Rows `rows` of `set`, in that order.
FeatureSet select_rows(const FeatureSet& set, const std::vector<int64_t>& rows);

void write_feature_directory(const std::string& dir, const FeatureDirectory& features);
// NpyError or std::runtime_error naming the file (and line) at fault.
FeatureDirectory read_feature_directory(const std::string& dir);

}  // namespace rfm::evaluation
