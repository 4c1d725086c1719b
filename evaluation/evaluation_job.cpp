#include "evaluation/evaluation_job.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "dataset/dataset_source.h"
#include "dataset/image_codec.h"
#include "evaluation/feature_extractor.h"
#include "evaluation/protocols.h"
#include "evaluation/report_files.h"
#include "proto/config_loader.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/model_io/model_checkpoint.h"
#include "trainer/process/worker_resources.h"

namespace rfm::evaluation {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream s;
  s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return s.str();
}

void describe_options(EvaluationReport& report, const config::EvaluationConfig& e) {
  report.set_created(utc_now());
  report.set_distance(config::EvaluationConfig::Distance_Name(e.distance()));
  report.set_l2_normalize(e.l2_normalize());
  report.set_flip_average(e.flip_average());
  report.set_rerank(e.rerank());
}

// The test images a protocol needs, in the reference code's order: sorted
// identities, then cameras, then file names.
struct ProtocolSets {
  // SYSU: queries, gallery pool; RegDB: visible, thermal; LLCM: visible, infrared.
  std::vector<dataset::ImageRecord> first, second;
};

// The dataset a source evaluates with, as the reports name it.
std::string dataset_of(config::DataConfig::Source source) {
  switch (source) {
    case config::DataConfig::SYSU_MM01: return "SYSU-MM01";
    case config::DataConfig::REGDB: return "RegDB";
    case config::DataConfig::LLCM: return "LLCM";
    default:
      throw config::ConfigError("data.source = " + config::DataConfig::Source_Name(source) +
                                ": evaluation needs SYSU_MM01, REGDB or LLCM (their protocols define query and gallery)");
  }
}

ProtocolSets protocol_sets(const dataset::DatasetListing& listing, config::DataConfig::Source source) {
  ProtocolSets s;
  const bool sysu = source == config::DataConfig::SYSU_MM01;
  for (const auto& r : listing.records) {
    if (r.split != dataset::Split::kTest) continue;
    const bool infrared = r.modality == dataset::Modality::kInfrared;
    // SYSU: infrared queries; RegDB and LLCM: visible first.
    (sysu == infrared ? s.first : s.second).push_back(r);
  }
  auto order = [](const dataset::ImageRecord& a, const dataset::ImageRecord& b) {
    return std::tie(a.pid, a.camid, a.path) < std::tie(b.pid, b.camid, b.path);
  };
  std::sort(s.first.begin(), s.first.end(), order);
  std::sort(s.second.begin(), s.second.end(), order);
  if (s.first.empty() || s.second.empty()) {
    const bool visible_missing = sysu ? s.second.empty() : s.first.empty();
    const char* where = source == config::DataConfig::SYSU_MM01 ? (visible_missing ? "cameras 1, 2, 4, 5" : "cameras 3, 6")
                        : source == config::DataConfig::REGDB   ? (visible_missing ? "Visible/" : "Thermal/")
                                                                : (visible_missing ? "test_vis/" : "test_nir/");
    throw dataset::DatasetError(listing.root + ": " + dataset_of(source) + " has no test images in " + where);
  }
  return s;
}

std::vector<ProtocolOutcome> run_protocols(const std::string& dataset, const FeatureSet& first, const FeatureSet& second,
                                           int regdb_trial, const config::EvaluationConfig& e) {
  if (dataset == "SYSU-MM01") return evaluate_sysu(first, second, e);
  if (dataset == "LLCM") return evaluate_llcm(first, second, e);
  return evaluate_regdb(first, second, regdb_trial, e);
}

// Rank-list pictures for the first model's outcomes.
void write_rank_lists(const std::string& dir, const std::vector<ProtocolOutcome>& outcomes, const FeatureSet& first,
                      const FeatureSet& second, const std::string& image_root,
                      const std::function<dataset::ImageU8(const std::string&)>& load_path, std::ostream& log) {
  if (first.paths.empty() || second.paths.empty()) {
    log << "rank lists skipped: the features have no paths files\n";
    return;
  }
  for (const auto& o : outcomes) {
    if (o.rank_list.query_rows.empty()) continue;
    const auto path = (fs::path(dir) / ("rank_list_" + slug(o.result.name()) + ".png")).string();
    write_rank_list_png(path, o.result.name(), o.rank_list, [&](int set, int64_t row) {
      const auto& rel = (set == 0 ? first : second).paths[row];
      return load_path(image_root.empty() ? rel : (fs::path(image_root) / rel).string());
    });
    log << "wrote " << path << "\n";
  }
}

void finish(EvaluationReport& report, const std::vector<ProtocolResult>& results, const std::string& out_dir,
            std::ostream& log) {
  for (const auto& r : merge_trials(results)) *report.add_results() = r;
  for (const auto& f : write_report_files(out_dir, report)) log << "wrote " << f << "\n";
  log << report_markdown(report);
}

}  // namespace

std::string canonical_dataset_name(const std::string& name) {
  std::string n;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (n == "sysu" || n == "sysumm01") return "SYSU-MM01";
  if (n == "regdb") return "RegDB";
  if (n == "llcm") return "LLCM";
  throw std::invalid_argument("unknown dataset '" + name + "' (expected sysu-mm01, regdb or llcm)");
}

namespace {

// An evaluation inside a training run leaves the run as it found it: its
// intra-op threads (train.threads: 0 would give one rank of several the
// node's every core, and its sums another order) and the CPU generator
// (reseeded below for the untrained model).  With it, training with and
// without in-run evaluations takes the same steps.
class RunStateGuard {
 public:
  RunStateGuard() : threads_(at::get_num_threads()), rng_(at::detail::getDefaultCPUGenerator().get_state()) {}
  ~RunStateGuard() {
    at::set_num_threads(threads_);
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
    cpu.set_state(rng_);
  }
  RunStateGuard(const RunStateGuard&) = delete;
  RunStateGuard& operator=(const RunStateGuard&) = delete;

 private:
  int threads_;
  at::Tensor rng_;
};

}  // namespace

bool has_evaluation_protocol(config::DataConfig::Source source) {
  return source == config::DataConfig::SYSU_MM01 || source == config::DataConfig::REGDB ||
         source == config::DataConfig::LLCM;
}

EvaluationReport run_evaluation(const EvaluationRequest& req, std::ostream& log) {
  const RunStateGuard keep;
  // The device as training resolves it for one process: a device this
  // process cannot have is a configuration error naming it, not CUDA's.
  const auto resources = process::resolve_worker(req.config, comm::ProcessPlacement{});
  const auto& base = resources.config;
  const auto source = base.data().source();
  const std::string dataset = dataset_of(source);
  const std::string out_dir = req.out_dir.empty() ? (fs::path(base.train().run_dir()) / "eval").string() : req.out_dir;
  const int threads = process::configure_threads(resources.threads);
  const torch::Device device = resources.device;

  EvaluationReport report;
  report.set_config_name(base.name());
  describe_options(report, base.evaluation());
  std::vector<ProtocolResult> results;
  std::vector<std::string> models = req.checkpoints;
  if (models.empty()) models.push_back("");
  double extract_seconds = 0, metric_seconds = 0;
  int64_t extracted = 0;
  for (size_t m = 0; m < models.size(); ++m) {
    auto cfg = base;
    int regdb_trial = base.data().regdb_trial();
    if (!models[m].empty()) {
      const auto info = model_io::read_checkpoint_info(models[m]);
      *cfg.mutable_model() = info.config.model();
      regdb_trial = info.config.data().regdb_trial();
      cfg.mutable_data()->set_regdb_trial(regdb_trial);
      report.add_checkpoints(models[m]);
      log << "checkpoint " << models[m] << " (step " << info.step << ", epoch " << info.epoch << ", config '"
          << info.config.name() << "')\n";
    } else {
      log << "no checkpoint: evaluating the untrained model (seed " << base.train().seed() << ")\n";
      if (cfg.model().num_classes() == 0) cfg.mutable_model()->set_num_classes(2);  // the classifier is unused
    }
    dataset::DatasetCheck check;
    check.decode_images = false;
    const auto listing = dataset::open_dataset(cfg.data(), check);
    const auto sets = protocol_sets(listing, source);
    const TestImageSource images(listing, cfg.data());

    torch::manual_seed(cfg.train().seed());
    model::RfmModel model(model_io::model_options(cfg));
    if (!models[m].empty()) model_io::load_model_weights(models[m], model);
    model->to(device);
    const auto opts = extraction_options(cfg, device);
    log << "extracting " << sets.first.size() + sets.second.size() << " test images of " << listing.name << " ("
        << images.describe() << ", " << threads << " threads, device " << cfg.train().device() << ")\n";
    auto t0 = Clock::now();
    const auto first = extract_features(model, sets.first, images, opts);
    const auto second = extract_features(model, sets.second, images, opts);
    extract_seconds += since(t0);
    extracted += first.size() + second.size();
    report.set_feature_dim(static_cast<int32_t>(first.features.cols));

    if (!req.export_dir.empty()) {
      FeatureDirectory dir;
      dir.meta.set_dataset(dataset);
      dir.meta.set_regdb_trial(source == config::DataConfig::REGDB ? regdb_trial : 0);
      dir.meta.set_image_root(fs::absolute(listing.root).string());
      dir.meta.set_query_role(dataset == "SYSU-MM01" ? "infrared test images (cameras 3, 6): the queries"
                              : dataset == "RegDB"   ? "visible test images (queries of visible-to-thermal)"
                                                     : "every visible test image (test_vis/)");
      dir.meta.set_gallery_role(dataset == "SYSU-MM01" ? "every visible test image (cameras 1, 2, 4, 5): the gallery pool"
                                : dataset == "RegDB"   ? "thermal test images (queries of thermal-to-visible)"
                                                       : "every infrared test image (test_nir/)");
      dir.meta.set_feature_dim(static_cast<int32_t>(first.features.cols));
      dir.meta.set_checkpoint(models[m]);
      dir.meta.set_flip_averaged(opts.flip_average);
      dir.query = first;
      dir.gallery = second;
      const auto where = models.size() == 1 ? req.export_dir : (fs::path(req.export_dir) / std::to_string(m)).string();
      write_feature_directory(where, dir);
      log << "exported features to " << where << "\n";
    }
    t0 = Clock::now();
    const auto outcomes = run_protocols(dataset, first, second, regdb_trial, cfg.evaluation());
    metric_seconds += since(t0);
    for (const auto& o : outcomes) results.push_back(o.result);
    if (m == 0) {
      fs::create_directories(out_dir);
      write_rank_lists(out_dir, outcomes, first, second, listing.root,
                       [&](const std::string& p) { return dataset::read_image_file(p); }, log);
    }
  }
  report.set_extract_seconds(extract_seconds);
  report.set_images_per_second(extract_seconds > 0 ? static_cast<double>(extracted) / extract_seconds : 0.0);
  report.set_metric_seconds(metric_seconds);
  finish(report, results, out_dir, log);
  return report;
}

EvaluationReport run_feature_evaluation(const FeatureEvaluationRequest& req, std::ostream& log) {
  if (req.feature_dirs.empty()) throw std::invalid_argument("no feature directory given");
  if (req.out_dir.empty()) throw std::invalid_argument("no output directory given");
  EvaluationReport report;
  describe_options(report, req.evaluation);
  std::vector<ProtocolResult> results;
  double metric_seconds = 0;
  for (size_t i = 0; i < req.feature_dirs.size(); ++i) {
    const auto dir = read_feature_directory(req.feature_dirs[i]);
    std::string dataset = req.dataset;
    if (dataset.empty()) {
      if (dir.meta.dataset().empty()) {
        throw std::invalid_argument(req.feature_dirs[i] + ": no features.pbtxt names the dataset; pass --dataset sysu-mm01, regdb or llcm");
      }
      dataset = dir.meta.dataset();
    }
    dataset = canonical_dataset_name(dataset);
    report.add_feature_sources(req.feature_dirs[i]);
    report.set_feature_dim(static_cast<int32_t>(dir.query.features.cols));
    log << req.feature_dirs[i] << ": " << dir.query.size() << " x " << dir.gallery.size() << " features ("
        << dir.query.features.cols << "-d), " << dataset << " protocol\n";
    const auto t0 = Clock::now();
    const int trial = dir.meta.regdb_trial() > 0 ? dir.meta.regdb_trial() : static_cast<int>(i + 1);
    const auto outcomes = run_protocols(dataset, dir.query, dir.gallery, trial, req.evaluation);
    metric_seconds += since(t0);
    for (const auto& o : outcomes) results.push_back(o.result);
    if (i == 0) {
      fs::create_directories(req.out_dir);
      const std::string root = !req.image_root.empty() ? req.image_root : dir.meta.image_root();
      write_rank_lists(req.out_dir, outcomes, dir.query, dir.gallery, root,
                       [&](const std::string& p) { return dataset::read_image_file(p); }, log);
    }
  }
  report.set_metric_seconds(metric_seconds);
  finish(report, results, req.out_dir, log);
  return report;
}

}  // namespace rfm::evaluation
