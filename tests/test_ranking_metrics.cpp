// Hand-built rankings: every expected value below is worked out by hand
// from the rules in docs/EVALUATION.md.
#include <gtest/gtest.h>

#include "evaluation/ranking_metrics.h"

namespace rfm::evaluation {
namespace {

Labels labels(std::vector<int64_t> pid, std::vector<int> cam) { return Labels{std::move(pid), std::move(cam)}; }

RankingRules plain(int max_rank = 5) {
  RankingRules r;
  r.max_rank = max_rank;
  return r;
}

RankingRules sysu(int max_rank = 5) {
  RankingRules r;
  r.exclude_same_room = true;
  r.collapse_identities = true;
  r.max_rank = max_rank;
  return r;
}

TEST(RankingMetrics, ApInpAndCmcOfOneQuery) {
  // Matches at ranks 2 and 4: AP = (1/2 + 2/4) / 2, INP = 2/4.
  const auto m = evaluate_ranking({0.1f, 0.2f, 0.3f, 0.4f}, labels({1}, {1}), labels({2, 1, 3, 1}, {2, 2, 2, 2}), plain());
  EXPECT_DOUBLE_EQ(m.map, 0.5);
  EXPECT_DOUBLE_EQ(m.minp, 0.5);
  EXPECT_EQ(m.cmc, (std::vector<double>{0, 1, 1, 1, 1}));  // past the 4-image gallery the last value repeats
  EXPECT_EQ(m.valid_queries, 1);
}

TEST(RankingMetrics, EqualDistancesKeepGalleryOrder) {
  // All three at the same distance: the stable order is 0, 1, 2.
  const auto a = evaluate_ranking({0.5f, 0.5f, 0.5f}, labels({1}, {1}), labels({2, 1, 2}, {2, 2, 2}), plain(3));
  EXPECT_DOUBLE_EQ(a.map, 0.5);
  EXPECT_EQ(a.cmc, (std::vector<double>{0, 1, 1}));
  const auto b = evaluate_ranking({0.5f, 0.5f, 0.5f}, labels({1}, {1}), labels({1, 2, 2}, {2, 2, 2}), plain(3));
  EXPECT_DOUBLE_EQ(b.map, 1.0);
  EXPECT_EQ(b.cmc, (std::vector<double>{1, 1, 1}));
  // A strictly smaller distance still wins over gallery order.
  const auto c = evaluate_ranking({0.5f, 0.5f, 0.4f}, labels({1}, {1}), labels({1, 2, 2}, {2, 2, 2}), plain(3));
  EXPECT_DOUBLE_EQ(c.map, 0.5);
}

TEST(RankingMetrics, SysuCmcCollapsesRepeatedIdentities) {
  // Ranking: 2, 2, 2, 1.  Plain CMC hits at rank 4; collapsed: ids 2, 1, so rank 2.
  const std::vector<float> d{0.1f, 0.2f, 0.3f, 0.4f};
  const auto q = labels({1}, {6});
  const auto g = labels({2, 2, 2, 1}, {1, 1, 1, 1});
  const auto collapsed = evaluate_ranking(d, q, g, sysu());
  EXPECT_EQ(collapsed.cmc, (std::vector<double>{0, 1, 1, 1, 1}));
  // mAP and mINP use the plain ranking: one match at rank 4.
  EXPECT_DOUBLE_EQ(collapsed.map, 0.25);
  EXPECT_DOUBLE_EQ(collapsed.minp, 0.25);
  const auto uncollapsed = evaluate_ranking(d, q, g, plain());
  EXPECT_EQ(uncollapsed.cmc, (std::vector<double>{0, 0, 0, 1, 1}));
}

TEST(RankingMetrics, CameraThreeQueriesDoNotSeeCameraTwo) {
  // Gallery: (pid 1, cam 2) at 0.1, (pid 2, cam 1) at 0.2, (pid 1, cam 1) at 0.3.
  const std::vector<float> d{0.1f, 0.2f, 0.3f};
  const auto g = labels({1, 2, 1}, {2, 1, 1});
  const auto cam3 = evaluate_ranking(d, labels({1}, {3}), g, sysu(3));
  EXPECT_DOUBLE_EQ(cam3.map, 0.5);  // ranking 2, 1 after the rule
  EXPECT_EQ(cam3.cmc, (std::vector<double>{0, 1, 1}));
  const auto cam6 = evaluate_ranking(d, labels({1}, {6}), g, sysu(3));
  EXPECT_DOUBLE_EQ(cam6.map, (1.0 + 2.0 / 3.0) / 2.0);  // ranking 1, 2, 1
  EXPECT_DOUBLE_EQ(cam6.minp, 2.0 / 3.0);
  EXPECT_EQ(cam6.cmc, (std::vector<double>{1, 1, 1}));
  // RegDB rules keep camera 2 for every query.
  EXPECT_DOUBLE_EQ(evaluate_ranking(d, labels({1}, {3}), g, plain(3)).map, (1.0 + 2.0 / 3.0) / 2.0);
  // The rank list shows the ranking after the rule.
  EXPECT_EQ(rank_gallery(d.data(), 1, 3, g, sysu()), (std::vector<int64_t>{1, 2}));
}

TEST(RankingMetrics, QueriesWithoutMatchesAreSkippedForMapAndPlainCmc) {
  // Query 0 (pid 1) matches at rank 1; query 1 (pid 9) has no gallery image.
  const std::vector<float> d{0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.3f};
  const auto q = labels({1, 9}, {6, 6});
  const auto g = labels({1, 2, 3}, {1, 1, 1});
  const auto p = evaluate_ranking(d, q, g, plain(3));
  EXPECT_EQ(p.queries, 2);
  EXPECT_EQ(p.valid_queries, 1);
  EXPECT_DOUBLE_EQ(p.map, 1.0);
  EXPECT_EQ(p.cmc, (std::vector<double>{1, 1, 1}));
  // SYSU's collapsed CMC also divides by the queries with a match
  // (eval_sysu: new_all_cmc.sum(0) / num_valid_q).
  const auto s = evaluate_ranking(d, q, g, sysu(3));
  EXPECT_DOUBLE_EQ(s.map, 1.0);
  EXPECT_EQ(s.cmc, (std::vector<double>{1, 1, 1}));
}

// Five queries, two without a match (one has no gallery image of its
// identity, one loses its only match to the camera-3/camera-2 rule).  The
// expected values follow the reference's eval_sysu step by step:
//   gallery  g0 (pid 1, cam 2)  g1 (2, cam 1)  g2 (1, cam 4)  g3 (3, cam 1)  g4 (6, cam 2)
//   A pid 1 cam 3: g0, g4 removed; ranking g1 g2 g3, ids 2 1 3: curve 0 1 1, AP 1/2, INP 1/2
//   B pid 5 cam 6: no pid 5 in the gallery: curve 0 0 0, skipped for AP and INP
//   C pid 3 cam 1: ranking g4 g3 g2 g1 g0, ids 6 3 1 2: curve 0 1 1, AP 1/2, INP 1/2
//   D pid 2 cam 3: ranking g1 g2 g3: curve 1 1 1, AP 1, INP 1
//   E pid 6 cam 3: its only match g4 is removed: curve 0 0 0, skipped
// CMC = (0 1 1 + 0 0 0 + 0 1 1 + 1 1 1 + 0 0 0) / num_valid_q (3) = 1/3 1 1
// (dividing by all 5 queries would give 0.2 0.6 0.6); mAP = mINP = 2/3.
TEST(RankingMetrics, SysuCmcDividesByQueriesWithAMatchAsTheReference) {
  const std::vector<float> d{0.1f, 0.2f, 0.3f, 0.4f, 0.5f,   // A
                             0.1f, 0.2f, 0.3f, 0.4f, 0.5f,   // B
                             0.5f, 0.4f, 0.3f, 0.2f, 0.1f,   // C
                             0.3f, 0.1f, 0.2f, 0.4f, 0.5f,   // D
                             0.1f, 0.2f, 0.3f, 0.4f, 0.05f}; // E
  const auto q = labels({1, 5, 3, 2, 6}, {3, 6, 1, 3, 3});
  const auto g = labels({1, 2, 1, 3, 6}, {2, 1, 4, 1, 2});
  const auto m = evaluate_ranking(d, q, g, sysu(3));
  EXPECT_EQ(m.queries, 5);
  EXPECT_EQ(m.valid_queries, 3);
  ASSERT_EQ(m.cmc.size(), 3u);
  EXPECT_DOUBLE_EQ(m.cmc[0], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.cmc[1], 1.0);
  EXPECT_DOUBLE_EQ(m.cmc[2], 1.0);
  EXPECT_DOUBLE_EQ(m.map, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.minp, 2.0 / 3.0);
}

TEST(RankingMetrics, AveragesOverQueries) {
  // Query 0 matches at rank 1 (AP 1), query 1 at rank 3 (AP 1/3).
  const std::vector<float> d{0.1f, 0.2f, 0.3f, 0.3f, 0.2f, 0.1f};
  const auto m = evaluate_ranking(d, labels({1, 1}, {6, 6}), labels({1, 2, 3}, {1, 1, 1}), plain(3));
  EXPECT_DOUBLE_EQ(m.map, (1.0 + 1.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.minp, (1.0 + 1.0 / 3.0) / 2.0);
  EXPECT_EQ(m.cmc, (std::vector<double>{0.5, 0.5, 1.0}));
}

TEST(RankingMetrics, RejectsBadInput) {
  EXPECT_THROW(evaluate_ranking({0.1f}, labels({1}, {1}), labels({1, 2}, {1, 1}), plain()), std::invalid_argument);
  EXPECT_THROW(evaluate_ranking({0.1f}, labels({1}, {1}), labels({2}, {1}), plain()), std::invalid_argument);
}

RankingRules llcm(int max_rank = 5) {
  RankingRules r;
  r.exclude_same_identity_camera = true;
  r.collapse_identities = true;
  r.max_rank = max_rank;
  return r;
}

// LLCM's rule (eval_llcm): a query loses the gallery images of its own
// identity and camera, nothing else; the CMC collapses identities and is
// divided by the queries with a match.  Gallery in distance order:
//   g0 pid 1 cam 2 (0.1), g1 pid 3 cam 1, g2 pid 3 cam 4, g3 pid 1 cam 5, g4 pid 2 cam 2 (0.5).
// q0 (pid 1, cam 2) loses g0: g1 g2 g3 g4, identities 3 1 2: R-1 0, R-2 1; AP = INP = 1/3 (its
//   match is the third image).
// q1 (pid 2, cam 9) loses nothing: identities 1 3 2: match at collapsed rank 3; AP = INP = 1/5.
// q2 (pid 4, cam 1) has no match: zeros in the CMC sum, skipped for mAP; 2 valid queries.
TEST(RankingMetrics, LlcmLeavesOutTheQuerysOwnIdentityAndCamera) {
  const std::vector<float> row = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  std::vector<float> d;
  for (int q = 0; q < 3; ++q) d.insert(d.end(), row.begin(), row.end());
  const auto gallery = labels({1, 3, 3, 1, 2}, {2, 1, 4, 5, 2});
  const auto m = evaluate_ranking(d, labels({1, 2, 4}, {2, 9, 1}), gallery, llcm());
  EXPECT_EQ(m.valid_queries, 2);
  EXPECT_EQ(m.cmc, (std::vector<double>{0.0, 0.5, 1.0, 1.0, 1.0}));
  EXPECT_DOUBLE_EQ(m.map, (1.0 / 3 + 1.0 / 5) / 2);
  EXPECT_DOUBLE_EQ(m.minp, (1.0 / 3 + 1.0 / 5) / 2);
  // Without the rule q0 keeps g0: matches at ranks 1 and 4, AP (1/1 + 2/4) / 2, R-1 1.
  auto rules = llcm();
  rules.exclude_same_identity_camera = false;
  const auto without = evaluate_ranking(d, labels({1, 2, 4}, {2, 9, 1}), gallery, rules);
  EXPECT_DOUBLE_EQ(without.cmc[0], 0.5);
  EXPECT_DOUBLE_EQ(without.map, (0.75 + 1.0 / 5) / 2);
  // SYSU's camera rule does not apply to LLCM: a camera-3 query keeps camera-2 images.
  const auto cam3 = evaluate_ranking({0.1f, 0.2f}, labels({7}, {3}), labels({7, 8}, {2, 2}), llcm());
  EXPECT_DOUBLE_EQ(cam3.map, 1.0);
}

}  // namespace
}  // namespace rfm::evaluation
