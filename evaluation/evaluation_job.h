#pragma once
// `rfm evaluate` and `rfm evaluate-features` as library calls: from
// checkpoints (or an untrained model) and a dataset, or from exported
// feature directories, to a report directory.

#include <ostream>
#include <string>
#include <vector>

#include "evaluation_report.pb.h"
#include "rfm_config.pb.h"

namespace rfm::evaluation {

struct EvaluationRequest {
  // The effective configuration: data, evaluation and device sections are
  // used as they are; the model section of each checkpoint replaces its own.
  config::RunConfig config;
  // Empty: the untrained model (seeded by train.seed).  Several: RegDB
  // models of different trials, whose results are pooled per protocol.
  std::vector<std::string> checkpoints;
  std::string out_dir;     // "": <train.run_dir>/eval
  std::string export_dir;  // "": no export; several checkpoints: <dir>/<index>
};

// Whether data.source has an evaluation protocol (SYSU_MM01, REGDB, LLCM
// define query and gallery; MANIFEST and RANDOM_IDENTITIES do not).
bool has_evaluation_protocol(config::DataConfig::Source source);

// Leaves LibTorch's intra-op thread count and CPU generator as it found
// them (a training run calls it between steps).
EvaluationReport run_evaluation(const EvaluationRequest& request, std::ostream& log);

struct FeatureEvaluationRequest {
  std::vector<std::string> feature_dirs;  // several: RegDB trials, pooled
  // "SYSU-MM01", "RegDB" or "LLCM"; "" takes each directory's features.pbtxt.
  std::string dataset;
  config::EvaluationConfig evaluation;
  std::string image_root;  // "": the features.pbtxt's (rank lists only)
  std::string out_dir;
};

EvaluationReport run_feature_evaluation(const FeatureEvaluationRequest& request, std::ostream& log);

// "SYSU-MM01" / "RegDB" / "LLCM" from user spellings (sysu, sysu-mm01, regdb, llcm, ...);
// std::invalid_argument otherwise.
std::string canonical_dataset_name(const std::string& name);

}  // namespace rfm::evaluation
