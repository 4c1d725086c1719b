#pragma once
// The VI-ReID protocols over embeddings (docs/EVALUATION.md):
//  - SYSU-MM01: infrared queries (cameras 3, 6) against a visible gallery
//    drawn per trial from the test identities' images: per identity and
//    gallery camera one image (single-shot) or up to multi_shot_images
//    (multi-shot), with Python's random seeded by the trial index, exactly
//    as the reference code draws; all-search cameras 1, 2, 4, 5, indoor
//    1, 2; the camera-3/camera-2 rule and identity-collapsed CMC.
//  - RegDB: one idx trial, visible-to-thermal and thermal-to-visible, plain
//    CMC.
//  - LLCM: below.
// Results are mean and standard deviation over trials.

#include <string>
#include <vector>

#include "evaluation/feature_set.h"
#include "evaluation_report.pb.h"
#include "rfm_config.pb.h"

namespace rfm::evaluation {

// One protocol's ranking of chosen queries in its first trial, for the
// rank-list picture: rows index the FeatureSets the protocol was given.
struct RankList {
  std::vector<int64_t> query_rows;
  std::vector<std::vector<int64_t>> gallery_rows;  // top rank_list_size, nearest first
  std::vector<std::vector<bool>> matches;  // empty: unknown (`rfm search`)
  bool query_is_first_set = true;  // false: RegDB thermal-to-visible (queries from the second set)
};

struct ProtocolOutcome {
  ProtocolResult result;
  RankList rank_list;
};

// The pool's rows forming the gallery of one SYSU-MM01 trial.  Rows of a
// (person, camera) group keep their path order (file order without paths).
std::vector<int64_t> sysu_gallery_rows(const FeatureSet& pool, config::EvaluationConfig::SysuMode mode,
                                       config::EvaluationConfig::Shots shots, int multi_shot_images, int trial);

// `gallery` is the pool of visible test images (or, with sysu_gallery =
// AS_GIVEN, one trial's gallery).
std::vector<ProtocolOutcome> evaluate_sysu(const FeatureSet& query, const FeatureSet& gallery,
                                           const config::EvaluationConfig& config);

std::vector<ProtocolOutcome> evaluate_regdb(const FeatureSet& visible, const FeatureSet& thermal, int trial,
                                            const config::EvaluationConfig& config);

// The rows of `pool` one trial's gallery draws: per identity (ascending),
// then camera (ascending; only `cameras` unless empty), one image
// (single-shot) or up to multi_shot_images of the group's path-sorted rows,
// with CPython's random seeded by the trial, as the reference code draws.
std::vector<int64_t> drawn_gallery_rows(const FeatureSet& pool, const std::vector<int>& cameras,
                                        config::EvaluationConfig::Shots shots, int multi_shot_images, int trial);

// LLCM (ZYK100/LLCM's DEEN/test.py with eval_llcm), over every visible and
// every infrared test image: infrared-to-visible ranks a visible gallery
// drawn per trial (one image per identity and camera) for each infrared
// image; visible-to-infrared as evaluation.llcm_visible_to_infrared says.
// Gallery images of the query's own identity and camera are left out, the
// CMC collapses repeated identities, 10 trials by default.
std::vector<ProtocolOutcome> evaluate_llcm(const FeatureSet& visible, const FeatureSet& infrared,
                                           const config::EvaluationConfig& config);

// Fills the summaries (mean, population std over trials) and mean CMC.
void summarize(ProtocolResult& result);

// Joins results of the same protocol from several runs (RegDB trials),
// in order of first appearance.
std::vector<ProtocolResult> merge_trials(const std::vector<ProtocolResult>& results);

}  // namespace rfm::evaluation
