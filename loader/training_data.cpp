#include "loader/training_data.h"

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <thread>

#include "dataset/dataset_source.h"
#include "dataset/pack_file.h"

namespace rfm::loader {
namespace {

int worker_threads(const config::DataConfig& d) {
  return std::max(1, d.loader_threads() > 0 ? d.loader_threads() : static_cast<int>(std::thread::hardware_concurrency()));
}

dataset::DatasetListing list_without_decoding(const config::RunConfig& config, dataset::ValidationReport& report) {
  dataset::DatasetCheck check;
  check.decode_images = false;
  return dataset::open_dataset(config.data(), check, &report);
}

}  // namespace

dataset::ValidationReport build_pack(const config::RunConfig& config, std::ostream& log) {
  const auto& d = config.data();
  if (d.pack().empty()) throw dataset::DatasetError("data.pack is empty: name the pack file to write");
  dataset::ValidationReport report;
  const auto listing = list_without_decoding(config, report);
  dataset::PackOptions o;
  o.height = d.height();
  o.width = d.width();
  o.policy = dataset::corrupt_policy(d);
  o.threads = worker_threads(d);
  const auto start = std::chrono::steady_clock::now();
  const auto parent = std::filesystem::path(d.pack()).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const auto index = dataset::write_pack(d.pack(), listing, o, report);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log << "packed " << index.images_size() << " images of " << listing.name << " at " << o.height << "x" << o.width
      << " into " << d.pack() << " in " << std::fixed << std::setprecision(1) << s << std::defaultfloat << " s ("
      << report.corrupt_skipped << " corrupt skipped)" << std::endl;
  return report;
}

TrainingData open_training_data(const config::RunConfig& config, int rank, int world_size, bool pin_memory,
                                std::ostream& log) {
  const auto& d = config.data();
  TrainingData out;
  dataset::DatasetListing listing;
  if (!d.pack().empty()) {
    if (!std::filesystem::exists(d.pack())) {
      if (world_size > 1) {
        throw dataset::DatasetError(d.pack() + ": no such pack; build it with `rfm pack` before a multi-rank run");
      }
      log << "data.pack " << d.pack() << " is absent: building it\n";
      out.report = build_pack(config, log);
    }
    auto pack = std::make_shared<dataset::PackReader>(d.pack());
    dataset::ValidationReport listed;
    const auto source = list_without_decoding(config, listed);
    const auto why = pack->staleness(source, d.height(), d.width());
    if (!why.empty()) throw dataset::DatasetError(d.pack() + ": stale pack: " + why + "; rebuild it with `rfm pack`");
    listing = pack->listing();
    dataset::check_identities(listing, out.report);
    if (!out.report.ok()) throw dataset::DatasetError(out.report.first_error_line(d.pack()));
    out.set = std::make_shared<dataset::TrainingSet>(dataset::make_training_set(listing));
    out.store = std::make_shared<PackImageStore>(*out.set, pack, d.verify_pack_checksums());
  } else {
    dataset::DatasetCheck check;
    check.decode_images = d.decode_check_on_load();
    check.threads = worker_threads(d);
    listing = dataset::open_dataset(d, check, &out.report);
    out.set = std::make_shared<dataset::TrainingSet>(dataset::make_training_set(listing));
    out.store = std::make_shared<FileImageStore>(*out.set, listing.root, d.height(), d.width());
  }
  sampler::IdentityBatchSamplerOptions so;
  so.ids_per_batch = d.ids_per_batch();
  so.per_modality = d.images_per_modality();
  so.seed = config.train().seed();
  so.batches_per_epoch = config.train().steps_per_epoch();
  out.sampler = std::make_shared<sampler::IdentityBatchSampler>(out.set->visible, out.set->infrared, so,
                                                                out.set->fingerprint);
  BatchLoaderOptions lo;
  lo.rank = rank;
  lo.world_size = world_size;
  lo.threads = d.loader_threads();
  lo.prefetch = d.prefetch_batches();
  lo.pin_memory = pin_memory && d.pin_memory();
  lo.seed = config.train().seed();
  lo.transform.horizontal_flip = d.horizontal_flip();
  lo.transform.pad = d.pad();
  out.loader = std::make_unique<DistributedBatchLoader>(out.set, out.store, out.sampler, lo);
  log << "data: " << out.set->name << ", " << out.set->num_classes() << " training identities, "
      << out.set->num_visible << " visible + " << out.set->num_infrared << " infrared images, "
      << out.sampler->batches_per_epoch() << " batches per epoch; " << out.store->describe() << std::endl;
  return out;
}

}  // namespace rfm::loader
