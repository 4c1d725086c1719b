#include "evaluation/image_search.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <stdexcept>

#include <torch/torch.h>

#include "dataset/dataset_readers.h"
#include "dataset/image_codec.h"
#include "dataset/text_fields.h"
#include "evaluation/distance.h"
#include "evaluation/feature_extractor.h"
#include "evaluation/report_files.h"
#include "proto/config_loader.h"
#include "proto/config_validation.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/model_io/model_checkpoint.h"
#include "trainer/process/worker_resources.h"

namespace rfm::evaluation {
namespace fs = std::filesystem;
namespace {

// A folder's image files (below it too), sorted, or a manifest's records.
dataset::DatasetListing list_images(const std::string& images) {
  dataset::DatasetListing listing;
  std::error_code ec;
  if (fs::is_directory(images, ec)) {
    listing.name = "folder " + images;
    listing.root = images;
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(images, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && dataset::has_image_extension(it->path().filename().string())) {
        files.push_back(fs::relative(it->path(), images).string());
      }
    }
    if (ec) throw dataset::DatasetError(images + ": cannot list the folder (" + ec.message() + ")");
    if (files.empty()) throw dataset::DatasetError(images + ": no images (.jpg, .jpeg, .png, .bmp) in this folder or below");
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      dataset::ImageRecord r;
      r.path = std::move(f);
      r.pid = -1;  // unknown: what `rfm embed` writes for a folder's images
      r.camid = -1;
      r.split = dataset::Split::kTest;
      listing.records.push_back(std::move(r));
    }
    return listing;
  }
  if (!fs::is_regular_file(images, ec)) throw dataset::DatasetError(images + ": no such folder or manifest file");
  dataset::ValidationReport report;
  listing = dataset::list_manifest(images, "", report);
  if (!report.ok()) throw dataset::DatasetError(report.first_error_line(images));
  if (listing.records.empty()) throw dataset::DatasetError(images + ": the manifest lists no images");
  return listing;
}

// The model of an rfm checkpoint, on the device its configuration (with
// `overrides`) names.
struct LoadedModel {
  config::RunConfig config;
  model::RfmModel model{nullptr};
  torch::Device device{torch::kCPU};
};

LoadedModel load_model(const std::string& checkpoint, const std::vector<std::string>& overrides) {
  if (checkpoint.empty()) throw std::invalid_argument("no --checkpoint given");
  const auto info = model_io::read_checkpoint_info(checkpoint);
  auto config = info.config;
  for (const auto& o : overrides) config::apply_override(config, o);
  config::materialize_defaults(config);
  config::validate(config);
  const auto resources = process::resolve_worker(config, comm::ProcessPlacement{});
  process::configure_threads(resources.threads);
  LoadedModel m;
  m.config = resources.config;
  m.device = resources.device;
  m.model = model::RfmModel(model_io::model_options(m.config));
  model_io::load_model_weights(checkpoint, m.model);
  m.model->to(m.device);
  return m;
}

// Redraws one line on a terminal; elsewhere a line every 10%.
class Progress {
 public:
  Progress(std::ostream& out, bool bar, std::string what) : out_(out), bar_(bar), what_(std::move(what)) {}
  void operator()(int64_t done, int64_t total) {
    if (bar_) {
      const int width = 30, filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
      out_ << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done << "/" << total
           << " " << what_ << std::flush;
      if (done == total) out_ << "\n";
      return;
    }
    const int64_t tenth = 10 * done / std::max<int64_t>(total, 1);
    if (tenth > last_tenth_ || done == total) {
      last_tenth_ = tenth;
      out_ << what_ << ": " << done << "/" << total << std::endl;
    }
  }

 private:
  std::ostream& out_;
  bool bar_;
  std::string what_;
  int64_t last_tenth_ = 0;
};

ExtractionOptions options_for(const LoadedModel& m, ModalityChoice choice) {
  auto o = extraction_options(m.config, m.device);
  o.guess_modality = choice == ModalityChoice::kAuto;
  return o;
}

void force_modality(std::vector<dataset::ImageRecord>& records, ModalityChoice choice) {
  if (choice == ModalityChoice::kAuto) return;
  for (auto& r : records) r.modality = choice == ModalityChoice::kInfrared ? dataset::Modality::kInfrared : dataset::Modality::kVisible;
}

torch::Tensor as_tensor(const FloatMatrix& m) {
  return torch::from_blob(const_cast<float*>(m.values.data()), {m.rows, m.cols}, torch::kFloat32).clone();
}

}  // namespace

ModalityChoice parse_modality_choice(const std::string& name) {
  if (name == "auto") return ModalityChoice::kAuto;
  if (name == "visible") return ModalityChoice::kVisible;
  if (name == "infrared") return ModalityChoice::kInfrared;
  throw std::invalid_argument("--modality must be auto, visible or infrared, got '" + name + "'");
}

FeatureDirectory run_embed(const EmbedRequest& request, std::ostream& log) {
  if (request.out_dir.empty()) throw std::invalid_argument("no --out directory given");
  auto listing = list_images(request.images);
  force_modality(listing.records, request.modality);
  auto m = load_model(request.checkpoint, request.overrides);
  config::DataConfig data = m.config.data();
  data.clear_pack();  // these images are not the training set's pack
  const TestImageSource source(listing, data);
  auto options = extraction_options(m.config, m.device);
  // A manifest names each image's modality; a folder's are guessed unless forced.
  options.guess_modality = fs::is_directory(request.images) && request.modality == ModalityChoice::kAuto;
  Progress progress(log, request.progress_bar, "images embedded");
  options.progress = [&](int64_t done, int64_t total) { progress(done, total); };
  log << "embedding " << listing.records.size() << " images of " << listing.name << " with " << request.checkpoint
      << " (" << m.config.data().height() << "x" << m.config.data().width() << ", device " << m.device.str() << ")"
      << std::endl;
  FeatureDirectory dir;
  dir.gallery = extract_features(m.model, listing.records, source, options);
  dir.query.features.cols = dir.gallery.features.cols;
  dir.meta.set_dataset("images");
  // The paths are relative to the folder, or to the manifest's root (its own folder when none).
  dir.meta.set_image_root(
      (listing.root.empty() ? fs::absolute(request.images).parent_path() : fs::absolute(listing.root)).string());
  dir.meta.set_query_role("none (rfm embed)");
  dir.meta.set_gallery_role("the images of " + listing.name + " (rfm embed)");
  dir.meta.set_feature_dim(static_cast<int32_t>(dir.gallery.features.cols));
  dir.meta.set_checkpoint(fs::absolute(request.checkpoint).string());
  dir.meta.set_flip_averaged(options.flip_average);
  dir.meta.set_model(model_io::architecture_text(m.config.model()));
  write_feature_directory(request.out_dir, dir);
  int64_t infrared = 0;
  for (const auto mod : dir.gallery.modality) infrared += mod == dataset::Modality::kInfrared;
  log << "wrote " << dir.gallery.size() << " x " << dir.gallery.features.cols << " features (" << infrared
      << " embedded as infrared, " << dir.gallery.size() - infrared << " as visible) to " << request.out_dir << std::endl;
  return dir;
}

std::vector<std::vector<SearchHit>> run_search(const SearchRequest& request, std::ostream& log) {
  if (request.queries.empty()) throw std::invalid_argument("no --query image given");
  if (request.top_k < 1) throw std::invalid_argument("--top-k must be at least 1");
  const auto dir = read_feature_directory(request.features_dir);
  if (dir.gallery.size() == 0) throw std::runtime_error(request.features_dir + ": the gallery holds no features");
  const std::string checkpoint = !request.checkpoint.empty() ? request.checkpoint : dir.meta.checkpoint();
  if (checkpoint.empty()) {
    throw std::invalid_argument(request.features_dir + "/features.pbtxt names no checkpoint: pass --checkpoint");
  }
  auto m = load_model(checkpoint, request.overrides);
  const std::string ours = model_io::architecture_text(m.config.model());
  if (!dir.meta.model().empty() && dir.meta.model() != ours) {
    throw model_io::CheckpointError(checkpoint + ": another architecture than the one " + request.features_dir +
                                  " was embedded with (" + ours + " against " + dir.meta.model() + ")");
  }

  // The queries as a listing of absolute paths.
  dataset::DatasetListing queries;
  queries.name = "queries";
  for (const auto& q : request.queries) {
    dataset::ImageRecord r;
    r.path = fs::absolute(q).string();
    r.pid = -1;
    r.camid = -1;
    queries.records.push_back(r);
  }
  force_modality(queries.records, request.modality);
  config::DataConfig data = m.config.data();
  data.clear_pack();
  const TestImageSource source(queries, data);
  const auto query = extract_features(m.model, queries.records, source, options_for(m, request.modality));
  if (query.features.cols != dir.gallery.features.cols) {
    throw model_io::CheckpointError(checkpoint + ": its embeddings have " + std::to_string(query.features.cols) +
                                  " dimensions, the features of " + request.features_dir + " " +
                                  std::to_string(dir.gallery.features.cols) + ": another architecture");
  }
  const auto& e = m.config.evaluation();
  auto q = as_tensor(query.features), g = as_tensor(dir.gallery.features);
  if (e.l2_normalize()) q = l2_normalize_rows(q), g = l2_normalize_rows(g);
  const auto distances = pairwise_distance(q, g, e.distance() == config::EvaluationConfig::COSINE ? DistanceKind::kCosine
                                                                                                  : DistanceKind::kEuclidean);
  const int64_t k = std::min<int64_t>(request.top_k, g.size(0));
  const auto [values, indices] = distances.topk(k, 1, /*largest=*/false, /*sorted=*/true);

  std::vector<std::vector<SearchHit>> hits(request.queries.size());
  RankList list;
  for (size_t i = 0; i < request.queries.size(); ++i) {
    list.query_rows.push_back(static_cast<int64_t>(i));
    list.gallery_rows.emplace_back();
    log << "query " << request.queries[i] << " (as " << dataset::modality_name(query.modality[i]) << "):\n";
    for (int64_t j = 0; j < k; ++j) {
      SearchHit h;
      h.row = indices[static_cast<int64_t>(i)][j].item<int64_t>();
      h.distance = values[static_cast<int64_t>(i)][j].item<double>();
      h.path = dir.gallery.paths.empty() ? "#" + std::to_string(h.row) : dir.gallery.paths[static_cast<size_t>(h.row)];
      log << "  " << std::setw(3) << j + 1 << "  " << std::fixed << std::setprecision(4) << h.distance << "  " << h.path
          << "\n";
      list.gallery_rows.back().push_back(h.row);
      hits[i].push_back(h);
    }
  }
  const std::string png = !request.out_png.empty() ? request.out_png : (fs::path(request.features_dir) / "search.png").string();
  write_rank_list_png(png, "search of " + request.features_dir, list, [&](int set, int64_t row) {
    if (set == 0) return dataset::read_image_file(request.queries[static_cast<size_t>(row)]);
    if (dir.gallery.paths.empty()) throw std::runtime_error("no paths");
    return dataset::read_image_file((fs::path(dir.meta.image_root()) / dir.gallery.paths[static_cast<size_t>(row)]).string());
  });
  log << "wrote " << png << std::endl;
  return hits;
}

}  // namespace rfm::evaluation
