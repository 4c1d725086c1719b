#pragma once
// Query x gallery distances of embeddings, and k-reciprocal re-ranking.

#include <torch/torch.h>

namespace rfm::evaluation {

enum class DistanceKind { kEuclidean, kCosine };

// Rows L2-normalised (a zero row stays zero).
torch::Tensor l2_normalize_rows(const torch::Tensor& x);

// [Nq, D] x [Ng, D] -> [Nq, Ng] float32: Euclidean, or 1 - cosine similarity.
torch::Tensor pairwise_distance(const torch::Tensor& query, const torch::Tensor& gallery, DistanceKind kind);

struct RerankOptions {
  int k1 = 20;
  int k2 = 6;
  double lambda = 0.3;
};

// k-reciprocal re-ranking (Zhong, Zheng, Cao, Li: "Re-ranking Person
// Re-identification with k-reciprocal Encoding", CVPR 2017): the Jaccard
// distance of k-reciprocal neighbour sets (expanded by half-size sets that
// overlap by more than 2/3, local query expansion over k2 neighbours)
// blended with the squared, per-row max-normalised original distance:
// lambda * d + (1 - lambda) * d_J.  Inputs are the query-gallery,
// query-query and gallery-gallery distance matrices; returns [Nq, Ng].
torch::Tensor k_reciprocal_rerank(const torch::Tensor& query_gallery, const torch::Tensor& query_query,
                                  const torch::Tensor& gallery_gallery, const RerankOptions& options);

}  // namespace rfm::evaluation
