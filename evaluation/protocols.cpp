#include "evaluation/protocols.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

#include <torch/torch.h>

#include "evaluation/distance.h"
#include "evaluation/python_random.h"

namespace rfm::evaluation {
namespace {

using config::EvaluationConfig;

std::vector<int> sysu_gallery_cameras(EvaluationConfig::SysuMode mode) {
  return mode == EvaluationConfig::INDOOR_SEARCH ? std::vector<int>{1, 2} : std::vector<int>{1, 2, 4, 5};
}

torch::Tensor as_tensor(const FeatureSet& set) {
  return torch::from_blob(const_cast<float*>(set.features.values.data()), {set.features.rows, set.features.cols},
                          torch::kFloat32)
      .clone();
}

// Distances and re-ranking over whole sets, computed once; a trial selects
// its gallery's columns.
struct DistanceSource {
  torch::Tensor query_gallery, query_query, gallery_gallery;
  bool rerank = false;
  RerankOptions rerank_options;

  DistanceSource(const FeatureSet& query, const FeatureSet& gallery, const EvaluationConfig& c) {
    auto q = as_tensor(query), g = as_tensor(gallery);
    if (c.l2_normalize()) {
      q = l2_normalize_rows(q);
      g = l2_normalize_rows(g);
    }
    const auto kind = c.distance() == EvaluationConfig::COSINE ? DistanceKind::kCosine : DistanceKind::kEuclidean;
    query_gallery = pairwise_distance(q, g, kind);
    rerank = c.rerank();
    if (rerank) {
      query_query = pairwise_distance(q, q, kind);
      gallery_gallery = pairwise_distance(g, g, kind);
      rerank_options.k1 = c.rerank_k1();
      rerank_options.k2 = c.rerank_k2();
      rerank_options.lambda = c.rerank_lambda();
    }
  }

  // Row-major distances of a query subset against a gallery subset (an
  // empty list: all of them), re-ranked within those subsets.
  std::vector<float> matrix(const std::vector<int64_t>& rows, const std::vector<int64_t>& columns) const {
    auto pick = [](const torch::Tensor& t, int64_t dim, const std::vector<int64_t>& index) {
      return index.empty() ? t : t.index_select(dim, torch::tensor(index, torch::kInt64));
    };
    auto d = pick(pick(query_gallery, 0, rows), 1, columns);
    if (rerank) {
      d = k_reciprocal_rerank(d, pick(pick(query_query, 0, rows), 1, rows),
                              pick(pick(gallery_gallery, 0, columns), 1, columns), rerank_options);
    }
    d = d.contiguous();
    return std::vector<float>(d.data_ptr<float>(), d.data_ptr<float>() + d.numel());
  }
};

TrialResult to_trial(int trial, const RankingMetrics& m, int64_t gallery_size) {
  TrialResult t;
  t.set_trial(trial);
  for (const double v : m.cmc) t.add_cmc(v);
  t.set_map(m.map);
  t.set_minp(m.minp);
  t.set_queries(static_cast<int32_t>(m.queries));
  t.set_valid_queries(static_cast<int32_t>(m.valid_queries));
  t.set_gallery(static_cast<int32_t>(gallery_size));
  return t;
}

RankList make_rank_list(const std::vector<float>& distances, const Labels& query, const Labels& gallery,
                        const std::vector<int64_t>& gallery_rows, const RankingRules& rules, const EvaluationConfig& c) {
  RankList list;
  const int64_t nq = static_cast<int64_t>(query.size()), ng = static_cast<int64_t>(gallery.size());
  std::vector<int64_t> chosen;
  for (const int row : c.rank_list_query_rows()) {
    if (row >= nq) {
      throw std::invalid_argument("evaluation.rank_list_query_rows: row " + std::to_string(row) + " is past the " +
                                  std::to_string(nq) + " queries");
    }
    chosen.push_back(row);
  }
  if (chosen.empty()) {
    const int64_t count = std::min<int64_t>(c.rank_list_queries(), nq);
    for (int64_t i = 0; i < count; ++i) chosen.push_back(i * nq / count);
  }
  for (const int64_t q : chosen) {
    const auto order = rank_gallery(distances.data() + q * ng, query.pid[q], query.camid[q], gallery, rules);
    std::vector<int64_t> rows;
    std::vector<bool> match;
    for (size_t r = 0; r < order.size() && static_cast<int>(r) < c.rank_list_size(); ++r) {
      rows.push_back(gallery_rows[order[r]]);
      match.push_back(gallery.pid[order[r]] == query.pid[q]);
    }
    list.query_rows.push_back(q);
    list.gallery_rows.push_back(std::move(rows));
    list.matches.push_back(std::move(match));
  }
  return list;
}

Labels select_labels(const Labels& labels, const std::vector<int64_t>& rows) {
  Labels out;
  for (const int64_t r : rows) {
    out.pid.push_back(labels.pid[r]);
    out.camid.push_back(labels.camid[r]);
  }
  return out;
}

MetricSummary summary_of(const std::vector<double>& values) {
  MetricSummary s;
  if (values.empty()) return s;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double var = 0.0;
  for (const double v : values) var += (v - mean) * (v - mean);
  s.set_mean(mean);
  s.set_std(std::sqrt(var / static_cast<double>(values.size())));
  return s;
}

const char* mode_name(EvaluationConfig::SysuMode m) {
  return m == EvaluationConfig::INDOOR_SEARCH ? "indoor-search" : "all-search";
}
const char* shots_name(EvaluationConfig::Shots s) {
  return s == EvaluationConfig::MULTI_SHOT ? "multi-shot" : "single-shot";
}

}  // namespace

std::vector<int64_t> sysu_gallery_rows(const FeatureSet& pool, EvaluationConfig::SysuMode mode,
                                       EvaluationConfig::Shots shots, int multi_shot_images, int trial) {
  return drawn_gallery_rows(pool, sysu_gallery_cameras(mode), shots, multi_shot_images, trial);
}

std::vector<int64_t> drawn_gallery_rows(const FeatureSet& pool, const std::vector<int>& cameras,
                                        EvaluationConfig::Shots shots, int multi_shot_images, int trial) {
  // The reference walks sorted identities, then the cameras in order,
  // drawing from each folder's sorted file list.
  std::map<std::pair<int64_t, int>, std::vector<int64_t>> groups;
  for (int64_t r = 0; r < pool.size(); ++r) {
    const int cam = pool.labels.camid[r];
    if (!cameras.empty() && std::find(cameras.begin(), cameras.end(), cam) == cameras.end()) continue;
    groups[{pool.labels.pid[r], cam}].push_back(r);
  }
  PythonRandom random(static_cast<uint64_t>(trial));
  std::vector<int64_t> rows;
  for (auto& [key, members] : groups) {
    if (!pool.paths.empty()) {
      std::stable_sort(members.begin(), members.end(),
                       [&](int64_t a, int64_t b) { return pool.paths[a] < pool.paths[b]; });
    }
    if (shots == EvaluationConfig::SINGLE_SHOT) {
      rows.push_back(members[random.choice(members.size())]);
    } else {
      const uint64_t k = std::min<uint64_t>(members.size(), static_cast<uint64_t>(multi_shot_images));
      for (const uint64_t i : random.sample(members.size(), k)) rows.push_back(members[i]);
    }
  }
  return rows;
}

void summarize(ProtocolResult& r) {
  std::vector<double> rank1, rank5, rank10, rank20, map, minp;
  size_t curve = 0;
  for (const auto& t : r.trials()) curve = std::max<size_t>(curve, static_cast<size_t>(t.cmc_size()));
  std::vector<double> mean_cmc(curve, 0.0);
  for (const auto& t : r.trials()) {
    auto at = [&](int k) { return t.cmc_size() == 0 ? 0.0 : t.cmc(std::min(k, t.cmc_size()) - 1); };
    rank1.push_back(at(1));
    rank5.push_back(at(5));
    rank10.push_back(at(10));
    rank20.push_back(at(20));
    map.push_back(t.map());
    minp.push_back(t.minp());
    for (size_t i = 0; i < curve; ++i) mean_cmc[i] += at(static_cast<int>(i) + 1) / static_cast<double>(r.trials_size());
  }
  *r.mutable_rank1() = summary_of(rank1);
  *r.mutable_rank5() = summary_of(rank5);
  *r.mutable_rank10() = summary_of(rank10);
  *r.mutable_rank20() = summary_of(rank20);
  *r.mutable_map() = summary_of(map);
  *r.mutable_minp() = summary_of(minp);
  r.clear_mean_cmc();
  for (const double v : mean_cmc) r.add_mean_cmc(v);
}

std::vector<ProtocolResult> merge_trials(const std::vector<ProtocolResult>& results) {
  std::vector<ProtocolResult> merged;
  for (const auto& r : results) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const ProtocolResult& m) { return m.name() == r.name(); });
    if (it == merged.end()) {
      merged.push_back(r);
    } else {
      for (const auto& t : r.trials()) *it->add_trials() = t;
    }
  }
  for (auto& m : merged) summarize(m);
  return merged;
}

std::vector<ProtocolOutcome> evaluate_sysu(const FeatureSet& query, const FeatureSet& gallery,
                                           const EvaluationConfig& c) {
  std::vector<EvaluationConfig::SysuMode> modes;
  for (const int m : c.sysu_modes()) modes.push_back(static_cast<EvaluationConfig::SysuMode>(m));
  if (modes.empty()) modes = {EvaluationConfig::ALL_SEARCH, EvaluationConfig::INDOOR_SEARCH};
  std::vector<EvaluationConfig::Shots> shots;
  for (const int s : c.sysu_shots()) shots.push_back(static_cast<EvaluationConfig::Shots>(s));
  if (shots.empty()) shots = {EvaluationConfig::SINGLE_SHOT};

  const DistanceSource source(query, gallery, c);
  RankingRules rules;
  rules.exclude_same_room = true;
  rules.collapse_identities = true;
  rules.max_rank = c.max_rank();
  const bool as_given = c.sysu_gallery() == EvaluationConfig::AS_GIVEN;
  std::vector<ProtocolOutcome> outcomes;
  for (const auto mode : modes) {
    for (const auto shot : shots) {
      ProtocolOutcome out;
      auto& r = out.result;
      r.set_dataset("SYSU-MM01");
      r.set_setting(std::string(mode_name(mode)) + " " + shots_name(shot));
      if (as_given) r.set_setting(r.setting() + " (gallery as given)");
      r.set_name("SYSU-MM01 " + r.setting());
      const int trials = as_given ? 1 : c.trials();
      for (int trial = 0; trial < trials; ++trial) {
        std::vector<int64_t> rows;
        if (as_given) {
          const auto cams = sysu_gallery_cameras(mode);
          for (int64_t g = 0; g < gallery.size(); ++g) {
            if (std::find(cams.begin(), cams.end(), gallery.labels.camid[g]) != cams.end()) rows.push_back(g);
          }
        } else {
          rows = sysu_gallery_rows(gallery, mode, shot, c.multi_shot_images(), trial);
        }
        if (rows.empty()) throw std::invalid_argument("SYSU-MM01 " + r.setting() + ": the gallery has no image of cameras " +
                                                      (mode == EvaluationConfig::INDOOR_SEARCH ? "1, 2" : "1, 2, 4, 5"));
        const auto distances = source.matrix({}, rows);
        const auto labels = select_labels(gallery.labels, rows);
        *r.add_trials() = to_trial(trial, evaluate_ranking(distances, query.labels, labels, rules),
                                   static_cast<int64_t>(rows.size()));
        if (trial == 0) out.rank_list = make_rank_list(distances, query.labels, labels, rows, rules, c);
      }
      summarize(r);
      outcomes.push_back(std::move(out));
      if (as_given) break;  // shots do not apply to a given gallery
    }
  }
  return outcomes;
}

std::vector<ProtocolOutcome> evaluate_regdb(const FeatureSet& visible, const FeatureSet& thermal, int trial,
                                            const EvaluationConfig& c) {
  std::vector<EvaluationConfig::RegdbDirection> directions;
  for (const int d : c.regdb_directions()) directions.push_back(static_cast<EvaluationConfig::RegdbDirection>(d));
  if (directions.empty()) directions = {EvaluationConfig::VISIBLE_TO_THERMAL, EvaluationConfig::THERMAL_TO_VISIBLE};
  RankingRules rules;
  rules.max_rank = c.max_rank();
  std::vector<ProtocolOutcome> outcomes;
  for (const auto direction : directions) {
    const bool v2t = direction == EvaluationConfig::VISIBLE_TO_THERMAL;
    const FeatureSet& q = v2t ? visible : thermal;
    const FeatureSet& g = v2t ? thermal : visible;
    const DistanceSource source(q, g, c);
    std::vector<int64_t> rows(static_cast<size_t>(g.size()));
    std::iota(rows.begin(), rows.end(), 0);
    const auto distances = source.matrix({}, rows);
    ProtocolOutcome out;
    auto& r = out.result;
    r.set_dataset("RegDB");
    r.set_setting(v2t ? "visible-to-thermal" : "thermal-to-visible");
    r.set_name("RegDB " + r.setting());
    *r.add_trials() = to_trial(trial, evaluate_ranking(distances, q.labels, g.labels, rules), g.size());
    out.rank_list = make_rank_list(distances, q.labels, g.labels, rows, rules, c);
    out.rank_list.query_is_first_set = v2t;
    summarize(r);
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

std::vector<ProtocolOutcome> evaluate_llcm(const FeatureSet& visible, const FeatureSet& infrared,
                                           const EvaluationConfig& c) {
  std::vector<EvaluationConfig::LlcmDirection> directions;
  for (const int d : c.llcm_directions()) directions.push_back(static_cast<EvaluationConfig::LlcmDirection>(d));
  if (directions.empty()) directions = {EvaluationConfig::INFRARED_TO_VISIBLE, EvaluationConfig::VISIBLE_TO_INFRARED};
  RankingRules rules;
  rules.exclude_same_identity_camera = true;
  rules.collapse_identities = true;
  rules.max_rank = c.max_rank();
  const bool as_test_script = c.llcm_visible_to_infrared() == EvaluationConfig::AS_TEST_SCRIPT;
  std::vector<ProtocolOutcome> outcomes;
  for (const auto direction : directions) {
    const bool i2v = direction == EvaluationConfig::INFRARED_TO_VISIBLE;
    ProtocolOutcome out;
    auto& r = out.result;
    r.set_dataset("LLCM");
    r.set_setting(i2v ? "infrared-to-visible" : "visible-to-infrared");
    if (!i2v && as_test_script) r.set_setting(r.setting() + " (as test.py)");
    r.set_name("LLCM " + r.setting());
    // Every trial draws one image per identity and camera of the drawn set
    // (Python's random seeded by the trial): the visible gallery of
    // infrared-to-visible, the infrared one of visible-to-infrared.
    const FeatureSet& drawn = i2v ? visible : infrared;
    const FeatureSet& whole = i2v ? infrared : visible;
    // test.py's visible-to-infrared ranks every visible image for each drawn
    // infrared one; the other two settings rank drawn images for each whole-set one.
    const bool drawn_queries = !i2v && as_test_script;
    const DistanceSource source = drawn_queries ? DistanceSource(infrared, visible, c) : DistanceSource(whole, drawn, c);
    for (int trial = 0; trial < c.trials(); ++trial) {
      const auto rows = drawn_gallery_rows(drawn, {}, EvaluationConfig::SINGLE_SHOT, 1, trial);
      if (rows.empty()) throw std::invalid_argument("LLCM " + r.setting() + ": no test images to draw from");
      const auto drawn_labels = select_labels(drawn.labels, rows);
      if (drawn_queries) {
        const auto distances = source.matrix(rows, {});
        *r.add_trials() = to_trial(trial, evaluate_ranking(distances, drawn_labels, visible.labels, rules), visible.size());
        if (trial == 0) {
          std::vector<int64_t> all(static_cast<size_t>(visible.size()));
          std::iota(all.begin(), all.end(), 0);
          out.rank_list = make_rank_list(distances, drawn_labels, visible.labels, all, rules, c);
          for (auto& q : out.rank_list.query_rows) q = rows[static_cast<size_t>(q)];  // rows of the infrared set
        }
      } else {
        const auto distances = source.matrix({}, rows);
        *r.add_trials() = to_trial(trial, evaluate_ranking(distances, whole.labels, drawn_labels, rules),
                                   static_cast<int64_t>(rows.size()));
        if (trial == 0) out.rank_list = make_rank_list(distances, whole.labels, drawn_labels, rows, rules, c);
      }
    }
    // The protocol's first set is the visible one: queries from it only in
    // visible-to-infrared with visible queries.
    out.rank_list.query_is_first_set = !i2v && !as_test_script;
    summarize(r);
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

}  // namespace rfm::evaluation
