#pragma once
// CMC, mAP and mINP from a query x gallery distance matrix, with the rules
// of the community's VI-ReID reference code (docs/EVALUATION.md):
//  - a query's ranking is the gallery sorted by ascending distance; equal
//    distances keep gallery order (a stable sort), so ties are reproducible;
//  - SYSU-MM01 leaves out gallery images of camera 2 for queries of camera 3
//    (the same room), LLCM those of the query's identity and camera, and
//    both collapse repeated identities along the ranking to their first
//    occurrence before the cumulative match of the CMC;
//  - mAP and mINP use the plain ranking after the camera rule; a query with
//    no matching gallery image is skipped for them.
// No LibTorch: distances arrive as a row-major float matrix.

#include <cstdint>
#include <vector>

namespace rfm::evaluation {

struct Labels {
  std::vector<int64_t> pid;
  std::vector<int> camid;
  size_t size() const { return pid.size(); }
};

struct RankingRules {
  // SYSU-MM01: a camera-3 query does not see camera-2 gallery images.
  bool exclude_same_room = false;
  // LLCM (eval_llcm): a query does not see gallery images of its own
  // identity taken by its own camera.
  bool exclude_same_identity_camera = false;
  // SYSU-MM01: CMC over the ranking with repeated identities collapsed.
  // Otherwise the plain CMC.  Either is averaged over the queries with a
  // match: the reference's eval_sysu sums every query's collapsed curve (an
  // unmatched one adds zeros) and divides by num_valid_q.
  bool collapse_identities = false;
  int max_rank = 20;
};

struct RankingMetrics {
  std::vector<double> cmc;  // max_rank values in [0, 1]; past the gallery's end the last value repeats
  double map = 0.0;
  double minp = 0.0;
  int64_t queries = 0;
  int64_t valid_queries = 0;
};

// A query's gallery indices, nearest first, after the camera rules.
std::vector<int64_t> rank_gallery(const float* distances, int64_t query_pid, int query_camid, const Labels& gallery,
                                  const RankingRules& rules);

// `distances` is queries x gallery, row-major.  Throws std::invalid_argument
// when the sizes disagree, and when no query has a match (nothing to average).
RankingMetrics evaluate_ranking(const std::vector<float>& distances, const Labels& query, const Labels& gallery,
                                const RankingRules& rules);

}  // namespace rfm::evaluation
