#include "evaluation/distance.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rfm::evaluation {

torch::Tensor l2_normalize_rows(const torch::Tensor& x) {
  return x / x.norm(2, 1, true).clamp_min(1e-12);
}

torch::Tensor pairwise_distance(const torch::Tensor& query, const torch::Tensor& gallery, DistanceKind kind) {
  const auto q = query.to(torch::kFloat32), g = gallery.to(torch::kFloat32);
  if (kind == DistanceKind::kCosine) return 1.0 - torch::mm(l2_normalize_rows(q), l2_normalize_rows(g).t());
  const auto qq = q.pow(2).sum(1, true), gg = g.pow(2).sum(1, true).t();
  return (qq + gg - 2.0 * torch::mm(q, g.t())).clamp_min(0.0).sqrt();
}

namespace {

// The members of `forward` (row i's first k+1 neighbours) that have i among
// their own first k+1 neighbours.
std::vector<int64_t> reciprocal_neighbours(const torch::TensorAccessor<int64_t, 2>& rank, int64_t i, int64_t k) {
  std::vector<int64_t> out;
  for (int64_t a = 0; a <= k; ++a) {
    const int64_t f = rank[i][a];
    for (int64_t b = 0; b <= k; ++b) {
      if (rank[f][b] == i) {
        out.push_back(f);
        break;
      }
    }
  }
  return out;
}

}  // namespace

torch::Tensor k_reciprocal_rerank(const torch::Tensor& query_gallery, const torch::Tensor& query_query,
                                  const torch::Tensor& gallery_gallery, const RerankOptions& o) {
  const int64_t nq = query_gallery.size(0), ng = query_gallery.size(1), n = nq + ng;
  auto original = torch::cat({torch::cat({query_query, query_gallery}, 1), torch::cat({query_gallery.t(), gallery_gallery}, 1)}, 0)
                      .to(torch::kFloat32)
                      .pow(2);
  // Each column divided by its maximum, then transposed: row i holds
  // distances from i scaled by i's farthest neighbour.
  original = (original / original.amax(0, true).clamp_min(1e-12)).t().contiguous();
  const int64_t k1 = std::min<int64_t>(o.k1, n - 1);
  const int64_t k1_half = std::min<int64_t>(static_cast<int64_t>(std::nearbyint(o.k1 / 2.0)), n - 1);
  const int64_t k2 = std::min<int64_t>(o.k2, n);
  const auto rank_full = std::get<1>(original.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));
  const auto rank_t = rank_full.narrow(1, 0, std::max(k1, k2) + 1).contiguous();
  const auto rank = rank_t.accessor<int64_t, 2>();
  const auto dist = original.accessor<float, 2>();

  auto v = torch::zeros({n, n}, torch::kFloat32);
  auto va = v.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto recip = reciprocal_neighbours(rank, i, k1);
    std::vector<int64_t> expansion = recip;
    std::vector<int64_t> recip_sorted = recip;
    std::sort(recip_sorted.begin(), recip_sorted.end());
    for (const int64_t c : recip) {
      auto cand = reciprocal_neighbours(rank, c, k1_half);
      std::sort(cand.begin(), cand.end());
      cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
      std::vector<int64_t> common;
      std::set_intersection(cand.begin(), cand.end(), recip_sorted.begin(), recip_sorted.end(), std::back_inserter(common));
      if (static_cast<double>(common.size()) > 2.0 / 3.0 * static_cast<double>(cand.size())) {
        expansion.insert(expansion.end(), cand.begin(), cand.end());
      }
    }
    std::sort(expansion.begin(), expansion.end());
    expansion.erase(std::unique(expansion.begin(), expansion.end()), expansion.end());
    double sum = 0.0;
    for (const int64_t j : expansion) sum += std::exp(-static_cast<double>(dist[i][j]));
    for (const int64_t j : expansion) va[i][j] = static_cast<float>(std::exp(-static_cast<double>(dist[i][j])) / sum);
  }
  if (k2 != 1) {
    // Local query expansion: each row the mean of its k2 nearest rows.
    auto v_qe = torch::empty_like(v);
    for (int64_t i = 0; i < n; ++i) v_qe[i] = v.index_select(0, rank_t[i].narrow(0, 0, k2)).mean(0);
    v = v_qe;
  }
  auto jaccard = torch::empty({nq, n}, torch::kFloat32);
  for (int64_t i = 0; i < nq; ++i) {
    const auto nz = v[i].nonzero().squeeze(1);
    const auto common = torch::minimum(v.index_select(1, nz), v[i].index_select(0, nz).unsqueeze(0)).sum(1);
    jaccard[i] = 1.0 - common / (2.0 - common);
  }
  const auto final_dist = jaccard * (1.0 - o.lambda) + original.narrow(0, 0, nq) * o.lambda;
  return final_dist.narrow(1, nq, ng).contiguous();
}

}  // namespace rfm::evaluation
