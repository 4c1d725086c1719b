#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dataset/image_codec.h"
#include "dataset/synthetic/synthetic_dataset.h"
#include "evaluation/distance.h"
#include "evaluation/evaluation_job.h"
#include "evaluation/feature_set.h"
#include "evaluation/npy_file.h"
#include "evaluation/protocols.h"
#include "evaluation/python_random.h"
#include "evaluation/report_files.h"
#include "proto/config_loader.h"
#include "synthetic_fixture.h"
#include "temp_dir.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::evaluation {
namespace {

namespace fs = std::filesystem;
using config::EvaluationConfig;

// Expected values printed by CPython 3.11.2 (Debian 12's /usr/bin/python3):
//   random.seed(s); [random.choice(range(n)) for n in [1, 2, 3, 7, 10, 25, 100, 1000]]
TEST(PythonRandom, ChoiceMatchesCPython) {
  const std::vector<uint64_t> sizes{1, 2, 3, 7, 10, 25, 100, 1000};
  const std::map<uint64_t, std::vector<uint64_t>> expected{{0, {0, 1, 0, 2, 8, 15, 51, 940}},
                                                           {1, {0, 0, 1, 0, 7, 24, 57, 483}},
                                                           {9, {0, 1, 1, 1, 2, 21, 0, 346}}};
  for (const auto& [seed, values] : expected) {
    PythonRandom random(seed);
    for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(random.choice(sizes[i]), values[i]) << "seed " << seed;
  }
}

TEST(PythonRandom, SampleAndLargeSeedsMatchCPython) {
  // random.seed(3); random.sample(range(25), 10), range(12), range(500)
  PythonRandom random(3);
  EXPECT_EQ(random.sample(25, 10), (std::vector<uint64_t>{7, 18, 17, 4, 11, 19, 15, 2, 0, 23}));
  EXPECT_EQ(random.sample(12, 10), (std::vector<uint64_t>{4, 8, 3, 9, 7, 11, 6, 10, 5, 2}));
  EXPECT_EQ(random.sample(500, 10), (std::vector<uint64_t>{440, 77, 118, 325, 444, 474, 267, 199, 379, 7}));
  // random.seed(2**40 + 5); random.getrandbits(32): a two-word key.
  EXPECT_EQ(PythonRandom((1ull << 40) + 5).getrandbits(32), 2166296868u);
}

FeatureSet pool_of(const std::vector<std::tuple<int64_t, int, int>>& groups) {
  // (pid, camera, images): one-dimensional features equal to the row index.
  FeatureSet s;
  s.features.cols = 1;
  for (const auto& [pid, cam, n] : groups) {
    for (int i = 0; i < n; ++i) {
      s.labels.pid.push_back(pid);
      s.labels.camid.push_back(cam);
      char name[32];
      std::snprintf(name, sizeof(name), "%04d.jpg", i);  // sorted names in row order
      s.paths.push_back("cam" + std::to_string(cam) + "/" + std::to_string(pid) + "/" + name);
      s.features.values.push_back(static_cast<float>(s.features.rows++));
    }
  }
  return s;
}

TEST(SysuGallery, SingleShotDrawsAsTheReferenceCode) {
  // Groups of 1, 2, 3 and 7 visible images: with seed 0 CPython's choice picks 0, 1, 0, 2
  // (the first four values of ChoiceMatchesCPython); camera 3 is never drawn.
  const auto pool = pool_of({{5, 1, 1}, {5, 2, 2}, {5, 3, 4}, {5, 4, 3}, {5, 5, 7}});
  const auto rows = sysu_gallery_rows(pool, EvaluationConfig::ALL_SEARCH, EvaluationConfig::SINGLE_SHOT, 10, 0);
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 2, 7, 12}));
  const auto indoor = sysu_gallery_rows(pool, EvaluationConfig::INDOOR_SEARCH, EvaluationConfig::SINGLE_SHOT, 10, 0);
  EXPECT_EQ(indoor, (std::vector<int64_t>{0, 2}));
  // Another trial, another draw of the same shape.
  const auto other = sysu_gallery_rows(pool, EvaluationConfig::ALL_SEARCH, EvaluationConfig::SINGLE_SHOT, 10, 1);
  EXPECT_EQ(other.size(), 4u);
}

TEST(SysuGallery, MultiShotSamplesWithoutReplacement) {
  const auto pool = pool_of({{1, 1, 25}, {1, 2, 3}, {2, 4, 12}});
  const auto rows = sysu_gallery_rows(pool, EvaluationConfig::ALL_SEARCH, EvaluationConfig::MULTI_SHOT, 10, 3);
  // seed 3: sample(range(25), 10), then all 3 of the small folder, then sample(range(12), 10).
  PythonRandom random(3);
  std::vector<int64_t> expected;
  for (auto i : random.sample(25, 10)) expected.push_back(static_cast<int64_t>(i));
  for (auto i : random.sample(3, 3)) expected.push_back(25 + static_cast<int64_t>(i));
  for (auto i : random.sample(12, 10)) expected.push_back(28 + static_cast<int64_t>(i));
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(rows.size(), 23u);
}

// LLCM draws one image per identity and camera, every camera (visible 1-9,
// infrared 1, 2, 4-9), in the reference's order.  Groups of 3, 1, 4 and 2
// images; CPython 3.11.2: random.seed(0): choice over them picks 1, 0, 0, 1;
// random.seed(3): 0, 0, 2, 1.
TEST(LlcmGallery, DrawsOnePerIdentityAndCameraAsTheReference) {
  const auto pool = pool_of({{2, 1, 3}, {2, 7, 1}, {5, 1, 4}, {5, 9, 2}});
  EXPECT_EQ(drawn_gallery_rows(pool, {}, EvaluationConfig::SINGLE_SHOT, 1, 0), (std::vector<int64_t>{1, 3, 4, 9}));
  EXPECT_EQ(drawn_gallery_rows(pool, {}, EvaluationConfig::SINGLE_SHOT, 1, 3), (std::vector<int64_t>{0, 3, 6, 9}));
}

// The two readings of visible-to-infrared on one hand-made set: 2 visible
// and 2 infrared images of two identities (one-dimensional features).
TEST(LlcmProtocol, DirectionsAndTheTwoReadingsOfVisibleToInfrared) {
  FeatureSet visible, infrared;
  auto add = [](FeatureSet& s, int64_t pid, int cam, float x, const std::string& path) {
    s.labels.pid.push_back(pid);
    s.labels.camid.push_back(cam);
    s.paths.push_back(path);
    s.features.values.push_back(x);
    ++s.features.rows;
    s.features.cols = 1;
  };
  // Identity 1 near 0, identity 2 near 10; every group holds one image, so
  // every trial draws the same gallery.
  add(visible, 1, 1, 0.0f, "test_vis/cam1/0001/a.jpg");
  add(visible, 2, 4, 10.0f, "test_vis/cam4/0002/a.jpg");
  add(infrared, 1, 2, 1.0f, "test_nir/cam2/0001/a.jpg");
  add(infrared, 2, 4, 9.0f, "test_nir/cam4/0002/a.jpg");  // identity 2's own camera: left out of its ranking
  EvaluationConfig c;
  c.set_trials(3);
  c.set_l2_normalize(false);
  auto outcomes = evaluate_llcm(visible, infrared, c);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].result.name(), "LLCM infrared-to-visible");
  EXPECT_EQ(outcomes[1].result.name(), "LLCM visible-to-infrared (as test.py)");
  // Infrared queries: identity 1 finds itself first; identity 2's only match is its own camera's.
  const auto& i2v = outcomes[0].result;
  ASSERT_EQ(i2v.trials_size(), 3);
  EXPECT_EQ(i2v.trials(0).queries(), 2);
  EXPECT_EQ(i2v.trials(0).valid_queries(), 1);
  EXPECT_EQ(i2v.trials(0).gallery(), 2);
  EXPECT_DOUBLE_EQ(i2v.map().mean(), 1.0);
  // test.py's reading: the drawn infrared images (here both) query every visible one.
  const auto& v2i = outcomes[1].result;
  EXPECT_EQ(v2i.trials(0).queries(), 2);
  EXPECT_EQ(v2i.trials(0).valid_queries(), 1);
  EXPECT_EQ(v2i.trials(0).gallery(), 2);
  EXPECT_DOUBLE_EQ(v2i.map().mean(), 1.0);
  EXPECT_FALSE(outcomes[1].rank_list.query_is_first_set);
  // train.py's reading: visible queries against the drawn infrared gallery.
  c.set_llcm_visible_to_infrared(EvaluationConfig::VISIBLE_QUERIES);
  c.add_llcm_directions(EvaluationConfig::VISIBLE_TO_INFRARED);
  outcomes = evaluate_llcm(visible, infrared, c);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].result.name(), "LLCM visible-to-infrared");
  EXPECT_TRUE(outcomes[0].rank_list.query_is_first_set);
  EXPECT_EQ(outcomes[0].result.trials(0).valid_queries(), 1);
  EXPECT_DOUBLE_EQ(outcomes[0].result.map().mean(), 1.0);
}

TEST(Protocols, RankListShowsChosenQueriesAfterTheRanking) {
  // One-dimensional raw features: distance = |difference|.
  FeatureSet query = pool_of({{1, 6, 1}, {2, 6, 1}, {3, 6, 1}});
  query.features.values = {0.f, 10.f, 20.f};
  FeatureSet gallery = pool_of({{1, 1, 1}, {2, 1, 1}, {3, 1, 1}, {3, 2, 1}});
  gallery.features.values = {0.1f, 10.2f, 19.5f, 20.5f};
  EvaluationConfig c;
  c.add_sysu_modes(EvaluationConfig::ALL_SEARCH);
  c.set_sysu_gallery(EvaluationConfig::AS_GIVEN);
  c.set_l2_normalize(false);
  c.set_rank_list_size(2);
  c.add_rank_list_query_rows(2);
  c.add_rank_list_query_rows(0);
  const auto out = evaluate_sysu(query, gallery, c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].result.map().mean(), 1.0);
  EXPECT_EQ(out[0].result.trials(0).gallery(), 4);
  const auto& list = out[0].rank_list;
  EXPECT_EQ(list.query_rows, (std::vector<int64_t>{2, 0}));
  // Query 2 (20.0) is 0.5 from gallery rows 2 and 3: the tie keeps gallery order.
  EXPECT_EQ(list.gallery_rows, (std::vector<std::vector<int64_t>>{{2, 3}, {0, 1}}));
  EXPECT_EQ(list.matches, (std::vector<std::vector<bool>>{{true, true}, {true, false}}));
  c.add_rank_list_query_rows(5);
  EXPECT_THROW(evaluate_sysu(query, gallery, c), std::invalid_argument);
}

TEST(Protocols, SummaryIsMeanAndPopulationStd) {
  ProtocolResult r;
  for (const double v : {0.2, 0.4}) {
    auto* t = r.add_trials();
    for (int k = 0; k < 20; ++k) t->add_cmc(v);
    t->set_map(v);
  }
  summarize(r);
  EXPECT_DOUBLE_EQ(r.rank1().mean(), 0.3);
  EXPECT_NEAR(r.rank1().std(), 0.1, 1e-12);
  EXPECT_NEAR(r.map().std(), 0.1, 1e-12);
  EXPECT_EQ(r.mean_cmc_size(), 20);
}

TEST(Npy, RoundTripIsBitExactAndHeaderAligned) {
  testing::TempDir dir;
  FloatMatrix m;
  m.rows = 5;
  m.cols = 7;
  for (int i = 0; i < 35; ++i) m.values.push_back(std::nextafter(static_cast<float>(i) / 3.0f, 100.0f) * (i % 2 ? -1.f : 1.f));
  m.values[3] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir.str("m.npy"), m);
  const auto back = read_npy(dir.str("m.npy"));
  EXPECT_EQ(back.rows, 5);
  EXPECT_EQ(back.cols, 7);
  ASSERT_EQ(back.values.size(), m.values.size());
  EXPECT_EQ(std::memcmp(back.values.data(), m.values.data(), m.values.size() * 4), 0);
  EXPECT_EQ(fs::file_size(dir.str("m.npy")) % 4, 0u);
  EXPECT_EQ((fs::file_size(dir.str("m.npy")) - 35 * 4) % 64, 0u);
}

void write_raw(const std::string& path, const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header << data;
}

TEST(Npy, ReadsFloat64AndFortranOrder) {
  testing::TempDir dir;
  // [[1, 2, 3], [4, 5, 6]] stored column by column as float64.
  std::string data;
  for (const double v : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) data.append(reinterpret_cast<const char*>(&v), 8);
  write_raw(dir.str("f.npy"), "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data);
  const auto m = read_npy(dir.str("f.npy"));
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 3);
  EXPECT_EQ(m.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Npy, BadFilesNameThemselves) {
  testing::TempDir dir;
  write_raw(dir.str("short.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(20, '\0'));
  write_raw(dir.str("int.npy"), "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  std::ofstream(dir.str("text.npy")) << "hello";
  // A header whose shape holds a line break, and one whose shape's product
  // wraps around 2^64 to the data's size (4 values): refused, on one line.
  write_raw(dir.str("newline.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2,\n x), }", "");
  write_raw(dir.str("wraps.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905, 4), }",
            std::string(16, '\0'));
  for (const char* name : {"short.npy", "int.npy", "text.npy", "absent.npy", "newline.npy", "wraps.npy"}) {
    try {
      read_npy(dir.str(name));
      ADD_FAILURE() << name << " was accepted";
    } catch (const NpyError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(Distance, EuclideanAndCosineByHand) {
  const auto q = torch::tensor({{3.0f, 4.0f}});
  const auto g = torch::tensor({{0.0f, 0.0f}, {3.0f, 0.0f}, {-3.0f, -4.0f}});
  const auto e = pairwise_distance(q, g, DistanceKind::kEuclidean);
  EXPECT_NEAR(e[0][0].item<float>(), 5.0f, 1e-5);
  EXPECT_NEAR(e[0][1].item<float>(), 4.0f, 1e-5);
  EXPECT_NEAR(e[0][2].item<float>(), 10.0f, 1e-5);
  const auto c = pairwise_distance(q, g.narrow(0, 1, 2), DistanceKind::kCosine);
  EXPECT_NEAR(c[0][0].item<float>(), 1.0f - 0.6f, 1e-5);
  EXPECT_NEAR(c[0][1].item<float>(), 2.0f, 1e-5);
}

TEST(Rerank, LambdaOneIsTheNormalisedSquaredDistance) {
  torch::manual_seed(3);
  const auto q = torch::randn({4, 6}), g = torch::randn({9, 6});
  const auto qg = pairwise_distance(q, g, DistanceKind::kEuclidean);
  const auto qq = pairwise_distance(q, q, DistanceKind::kEuclidean);
  const auto gg = pairwise_distance(g, g, DistanceKind::kEuclidean);
  const auto r = k_reciprocal_rerank(qg, qq, gg, {5, 3, 1.0});
  // Row i of the expected value: d(i, .)^2 over i's largest squared distance to anything.
  const auto row_max = torch::cat({qq, qg}, 1).pow(2).amax(1, true);
  EXPECT_TRUE(torch::allclose(r, qg.pow(2) / row_max, 1e-5, 1e-6));
}

TEST(Rerank, KeepsSeparatedClustersApartAndStaysInRange) {
  // Three identities, tight clusters far apart: re-ranking must keep every
  // query's own identity first.
  torch::manual_seed(5);
  const auto centres = torch::tensor({{0.0f, 0.0f}, {10.0f, 0.0f}, {0.0f, 10.0f}});
  auto q = centres.repeat_interleave(2, 0) + 0.1 * torch::randn({6, 2});
  auto g = centres.repeat_interleave(4, 0) + 0.1 * torch::randn({12, 2});
  const auto r = k_reciprocal_rerank(pairwise_distance(q, g, DistanceKind::kEuclidean),
                                     pairwise_distance(q, q, DistanceKind::kEuclidean),
                                     pairwise_distance(g, g, DistanceKind::kEuclidean), {4, 2, 0.3});
  EXPECT_GE(r.min().item<float>(), 0.0f);
  EXPECT_LE(r.max().item<float>(), 1.0f + 1e-5f);
  std::vector<float> d(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
  Labels ql{{0, 0, 1, 1, 2, 2}, {3, 3, 3, 3, 3, 3}}, gl{{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, std::vector<int>(12, 1)};
  RankingRules rules;
  rules.max_rank = 20;
  EXPECT_DOUBLE_EQ(evaluate_ranking(d, ql, gl, rules).map, 1.0);
}

config::RunConfig tiny_run(const std::string& root, config::DataConfig::Source source) {
  config::RunConfig c;
  c.set_name("tiny-eval");
  *c.mutable_data() = rfm::testing::sysu_data(root);
  c.mutable_data()->set_source(source);
  c.mutable_model()->set_depth(18);
  c.mutable_model()->set_num_parts(2);
  c.mutable_model()->set_part_dim(16);
  c.mutable_model()->set_num_classes(8);
  c.mutable_evaluation()->set_trials(3);
  c.mutable_evaluation()->set_rank_list_queries(2);
  c.mutable_train()->set_threads(2);
  config::materialize_defaults(c);
  return c;
}

TEST(EvaluationEndToEnd, SysuCheckpointReportsAndFeatureRoundTrip) {
  testing::TempDir dir;
  const auto root = dir.str("sysu");
  dataset::synthetic::write_synthetic_dataset(rfm::testing::small_synthetic(), root, 2);
  auto cfg = tiny_run(root, config::DataConfig::SYSU_MM01);
  cfg.mutable_train()->set_run_dir(dir.str("run"));
  torch::manual_seed(1);
  model::RfmModel model(model_io::model_options(cfg));
  const auto ckpt = dir.str("run/checkpoints/last.pt");
  model_io::save_model_checkpoint(ckpt, model, cfg, 12, 1.5);
  EXPECT_FALSE(fs::exists(ckpt + ".tmp"));

  EvaluationRequest req;
  req.config = cfg;
  req.checkpoints = {ckpt};
  req.export_dir = dir.str("features");
  std::ostringstream log;
  const auto report = run_evaluation(req, log);
  ASSERT_EQ(report.results_size(), 2) << log.str();  // all-search and indoor-search, single-shot
  EXPECT_EQ(report.results(0).name(), "SYSU-MM01 all-search single-shot");
  EXPECT_EQ(report.results(1).name(), "SYSU-MM01 indoor-search single-shot");
  EXPECT_EQ(report.feature_dim(), 32);  // 2 parts x 16

  // The export: queries are the infrared images, the pool every visible one.
  const auto exported = read_feature_directory(dir.str("features"));
  EXPECT_EQ(exported.meta.dataset(), "SYSU-MM01");
  for (int cam : exported.query.labels.camid) EXPECT_TRUE(cam == 3 || cam == 6);
  for (int cam : exported.gallery.labels.camid) EXPECT_TRUE(cam == 1 || cam == 2 || cam == 4 || cam == 5);
  std::set<std::pair<int64_t, int>> groups;
  for (size_t i = 0; i < exported.gallery.labels.size(); ++i) {
    groups.insert({exported.gallery.labels.pid[i], exported.gallery.labels.camid[i]});
  }
  for (const auto& r : report.results()) {
    ASSERT_EQ(r.trials_size(), 3);
    for (const auto& t : r.trials()) {
      EXPECT_EQ(t.queries(), exported.query.size());
      EXPECT_EQ(t.cmc_size(), 20);
      for (int k = 1; k < t.cmc_size(); ++k) EXPECT_GE(t.cmc(k), t.cmc(k - 1));
      EXPECT_GT(t.map(), 0.0);
      EXPECT_LE(t.map(), 1.0);
      EXPECT_GT(t.minp(), 0.0);
    }
  }
  // Single-shot all-search: one image per (identity, camera) group.
  EXPECT_EQ(report.results(0).trials(0).gallery(), static_cast<int32_t>(groups.size()));

  // Report files exist and parse back to the same report.
  const auto out = dir.str("run/eval");
  const auto parsed = read_report_json(out + "/report.json");
  EXPECT_EQ(parsed.SerializeAsString(), report.SerializeAsString());
  std::ifstream md(out + "/report.md");
  std::stringstream md_text;
  md_text << md.rdbuf();
  EXPECT_NE(md_text.str().find("| SYSU-MM01 all-search single-shot | 3 |"), std::string::npos) << md_text.str();
  const auto cmc = dataset::read_image_file(out + "/cmc.png");
  EXPECT_EQ(cmc.width, 720);
  const auto ranks = dataset::read_image_file(out + "/rank_list_sysu-mm01-all-search-single-shot.png");
  EXPECT_GT(ranks.height, 2 * 128);

  // The exported features, evaluated without the model, give the same numbers.
  FeatureEvaluationRequest freq;
  freq.feature_dirs = {dir.str("features")};
  freq.evaluation = cfg.evaluation();
  freq.out_dir = dir.str("from-features");
  const auto again = run_feature_evaluation(freq, log);
  ASSERT_EQ(again.results_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(again.results(i).trials(0).SerializeAsString(), report.results(i).trials(0).SerializeAsString());
    EXPECT_EQ(again.results(i).map().mean(), report.results(i).map().mean());
  }
}

TEST(EvaluationEndToEnd, RegdbBothDirectionsOfTheConfiguredTrial) {
  testing::TempDir dir;
  const auto root = dir.str("regdb");
  dataset::synthetic::write_synthetic_dataset(rfm::testing::small_synthetic(config::SyntheticConfig::REGDB), root, 2);
  auto cfg = tiny_run(root, config::DataConfig::REGDB);
  cfg.mutable_data()->set_regdb_trial(2);
  cfg.mutable_train()->set_run_dir(dir.str("run"));
  EvaluationRequest req;
  req.config = cfg;  // no checkpoint: the untrained model
  std::ostringstream log;
  const auto report = run_evaluation(req, log);
  ASSERT_EQ(report.results_size(), 2);
  EXPECT_EQ(report.results(0).name(), "RegDB visible-to-thermal");
  EXPECT_EQ(report.results(1).name(), "RegDB thermal-to-visible");
  for (const auto& r : report.results()) {
    ASSERT_EQ(r.trials_size(), 1);
    EXPECT_EQ(r.trials(0).trial(), 2);
    EXPECT_EQ(r.trials(0).valid_queries(), r.trials(0).queries());  // every test identity is in both modalities
    EXPECT_EQ(r.map().std(), 0.0);
  }
  EXPECT_EQ(report.results(0).trials(0).queries(), report.results(1).trials(0).gallery());
}

TEST(EvaluationEndToEnd, LlcmBothDirectionsOnTheSyntheticLayout) {
  testing::TempDir dir;
  const auto root = dir.str("llcm");
  dataset::synthetic::write_synthetic_dataset(rfm::testing::small_synthetic(config::SyntheticConfig::LLCM), root, 2);
  auto cfg = tiny_run(root, config::DataConfig::LLCM);
  cfg.mutable_train()->set_run_dir(dir.str("run"));
  cfg.mutable_evaluation()->set_trials(4);
  EvaluationRequest req;
  req.config = cfg;
  req.export_dir = dir.str("features");
  std::ostringstream log;
  const auto report = run_evaluation(req, log);
  ASSERT_EQ(report.results_size(), 2);
  EXPECT_EQ(report.results(0).name(), "LLCM infrared-to-visible");
  EXPECT_EQ(report.results(1).name(), "LLCM visible-to-infrared (as test.py)");
  const auto features = read_feature_directory(dir.str("features"));
  EXPECT_EQ(features.meta.dataset(), "LLCM");
  for (const auto& r : report.results()) EXPECT_EQ(r.trials_size(), 4);
  // Infrared-to-visible: every infrared test image queries a gallery of one visible image per
  // identity and camera.
  const auto& i2v = report.results(0).trials(0);
  EXPECT_EQ(i2v.queries(), features.gallery.size());
  std::set<std::pair<int64_t, int>> visible_groups;
  for (size_t i = 0; i < features.query.labels.size(); ++i) {
    visible_groups.insert({features.query.labels.pid[i], features.query.labels.camid[i]});
  }
  EXPECT_EQ(i2v.gallery(), static_cast<int>(visible_groups.size()));
  // As test.py: the drawn infrared images query every visible image.
  EXPECT_EQ(report.results(1).trials(0).gallery(), features.query.size());
  // The same features evaluated again from the exported directory.
  FeatureEvaluationRequest freq;
  freq.feature_dirs = {dir.str("features")};
  freq.evaluation = cfg.evaluation();
  freq.out_dir = dir.str("from-features");
  const auto again = run_feature_evaluation(freq, log);
  ASSERT_EQ(again.results_size(), 2);
  EXPECT_EQ(again.results(0).map().mean(), report.results(0).map().mean());
  EXPECT_EQ(again.results(1).map().mean(), report.results(1).map().mean());
}

// A training run evaluates between steps: the evaluation must not change
// the run's intra-op threads (it sets train.threads' for its extraction)
// nor the CPU generator (it seeds the untrained model).
TEST(EvaluationEndToEnd, LeavesTheThreadsAndGeneratorOfTheRun) {
  testing::TempDir dir;
  const auto root = dir.str("sysu");
  dataset::synthetic::write_synthetic_dataset(rfm::testing::small_synthetic(), root, 2);
  auto cfg = tiny_run(root, config::DataConfig::SYSU_MM01);
  cfg.mutable_train()->set_run_dir(dir.str("run"));
  cfg.mutable_train()->set_threads(2);
  at::set_num_threads(1);
  torch::manual_seed(77);
  const auto before = torch::rand({4});
  torch::manual_seed(77);
  EvaluationRequest req;
  req.config = cfg;
  std::ostringstream log;
  run_evaluation(req, log);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_TRUE(torch::equal(torch::rand({4}), before));
}

TEST(ModelCheckpoint, WeightsRoundTripAndDamageIsNamed) {
  testing::TempDir dir;
  auto cfg = tiny_run(dir.str(), config::DataConfig::SYSU_MM01);
  torch::manual_seed(1);
  model::RfmModel a(model_io::model_options(cfg));
  const auto path = dir.str("a.pt");
  model_io::save_model_checkpoint(path, a, cfg, 7, 0.5);
  const auto info = model_io::read_checkpoint_info(path);
  EXPECT_EQ(info.step, 7);
  EXPECT_DOUBLE_EQ(info.epoch, 0.5);
  EXPECT_EQ(info.config.model().part_dim(), 16);
  torch::manual_seed(2);
  model::RfmModel b(model_io::model_options(cfg));
  model_io::load_model_weights(path, b);
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  const auto ba = a->named_buffers(), bb = b->named_buffers();
  for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();

  // Truncated: a CheckpointError that names the file.
  const auto size = fs::file_size(path);
  fs::copy_file(path, dir.str("cut.pt"));
  fs::resize_file(dir.str("cut.pt"), size / 2);
  for (const auto& bad : {dir.str("cut.pt"), dir.str("absent.pt")}) {
    try {
      model_io::read_checkpoint_info(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const model_io::CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  // Another architecture: named, not a crash.
  auto other = cfg;
  other.mutable_model()->set_part_dim(8);
  model::RfmModel c(model_io::model_options(other));
  EXPECT_THROW(model_io::load_model_weights(path, c), model_io::CheckpointError);
}

}  // namespace
}  // namespace rfm::evaluation
