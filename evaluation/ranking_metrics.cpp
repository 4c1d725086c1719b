#include "evaluation/ranking_metrics.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_set>

namespace rfm::evaluation {
namespace {

constexpr int kSameRoomQueryCamera = 3;
constexpr int kSameRoomGalleryCamera = 2;

void fill_cmc(std::vector<double>& sum, const std::vector<int64_t>& hits_at) {
  // hits_at[r] = 1 once a match has been seen at rank <= r.
  for (size_t r = 0; r < sum.size(); ++r) {
    sum[r] += hits_at.empty() ? 0.0 : static_cast<double>(hits_at[std::min(r, hits_at.size() - 1)]);
  }
}

}  // namespace

std::vector<int64_t> rank_gallery(const float* distances, int64_t query_pid, int query_camid, const Labels& gallery,
                                  const RankingRules& rules) {
  std::vector<int64_t> order(gallery.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return distances[a] < distances[b]; });
  const bool same_room = rules.exclude_same_room && query_camid == kSameRoomQueryCamera;
  if (same_room || rules.exclude_same_identity_camera) {
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](int64_t g) {
                                 return (same_room && gallery.camid[g] == kSameRoomGalleryCamera) ||
                                        (rules.exclude_same_identity_camera && gallery.pid[g] == query_pid &&
                                         gallery.camid[g] == query_camid);
                               }),
                order.end());
  }
  return order;
}

RankingMetrics evaluate_ranking(const std::vector<float>& distances, const Labels& query, const Labels& gallery,
                                const RankingRules& rules) {
  const auto nq = static_cast<int64_t>(query.size()), ng = static_cast<int64_t>(gallery.size());
  if (query.camid.size() != query.pid.size() || gallery.camid.size() != gallery.pid.size()) {
    throw std::invalid_argument("labels: person and camera id counts differ");
  }
  if (static_cast<int64_t>(distances.size()) != nq * ng) {
    throw std::invalid_argument("distance matrix has " + std::to_string(distances.size()) + " values, expected " +
                                std::to_string(nq) + " x " + std::to_string(ng));
  }
  if (rules.max_rank < 1) throw std::invalid_argument("max_rank must be >= 1");
  RankingMetrics m;
  m.queries = nq;
  std::vector<double> cmc_sum(static_cast<size_t>(rules.max_rank), 0.0);
  double ap_sum = 0.0, inp_sum = 0.0;
  for (int64_t q = 0; q < nq; ++q) {
    const auto order = rank_gallery(distances.data() + q * ng, query.pid[q], query.camid[q], gallery, rules);
    const int64_t pid = query.pid[q];

    // Plain ranking: AP and INP.
    std::vector<int64_t> hits_at(order.size());
    int64_t hits = 0, last_hit_rank = -1;
    double precision_sum = 0.0;
    for (size_t r = 0; r < order.size(); ++r) {
      if (gallery.pid[order[r]] == pid) {
        ++hits;
        precision_sum += static_cast<double>(hits) / static_cast<double>(r + 1);
        last_hit_rank = static_cast<int64_t>(r);
      }
      hits_at[r] = hits > 0 ? 1 : 0;
    }
    if (hits > 0) {
      ++m.valid_queries;
      ap_sum += precision_sum / static_cast<double>(hits);
      inp_sum += static_cast<double>(hits) / static_cast<double>(last_hit_rank + 1);
    }

    if (rules.collapse_identities) {
      // Each identity counts at its first occurrence only.
      std::unordered_set<int64_t> seen;
      std::vector<int64_t> collapsed_hits;
      int64_t found = 0;
      for (const int64_t g : order) {
        if (!seen.insert(gallery.pid[g]).second) continue;
        if (gallery.pid[g] == pid) found = 1;
        collapsed_hits.push_back(found);
        if (static_cast<int>(collapsed_hits.size()) >= rules.max_rank) break;
      }
      fill_cmc(cmc_sum, collapsed_hits);
    } else if (hits > 0) {
      fill_cmc(cmc_sum, hits_at);
    }
  }
  if (m.valid_queries == 0) throw std::invalid_argument("no query has a matching gallery image");
  m.cmc.resize(cmc_sum.size());
  for (size_t r = 0; r < cmc_sum.size(); ++r) m.cmc[r] = cmc_sum[r] / static_cast<double>(m.valid_queries);
  m.map = ap_sum / static_cast<double>(m.valid_queries);
  m.minp = inp_sum / static_cast<double>(m.valid_queries);
  return m;
}

}  // namespace rfm::evaluation
