// Loader throughput (images/s): decoding JPEGs and resizing them, against
// reading the pack; and whole batches through the loader from each.  The
// dataset is the synthetic one, written once to a temporary folder at the
// size SYSU-MM01's visible images have (288x144; infrared 360x180).
//   build/bench/rfm_loader_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "dataset/dataset_source.h"
#include "dataset/image_codec.h"
#include "dataset/image_resize.h"
#include "dataset/pack_file.h"
#include "dataset/synthetic/synthetic_dataset.h"
#include "loader/training_data.h"

namespace fs = std::filesystem;
using namespace rfm;

namespace {

struct BenchDataset {
  fs::path root = fs::temp_directory_path() / "rfm-loader-bench";
  dataset::DatasetListing listing;
  std::map<std::pair<int, int>, std::string> packs;  // (height, width) -> pack path

  BenchDataset() {
    config::SyntheticConfig o;
    o.set_train_identities(40);
    o.set_test_identities(4);
    o.set_images_per_camera(4);
    o.set_height(288);
    o.set_width(144);
    dataset::synthetic::write_synthetic_dataset(o, (root / "sysu").string(), 2);
    dataset::ValidationReport r;
    dataset::DatasetCheck check;
    check.decode_images = false;
    listing = dataset::open_dataset(config(128, 64).data(), check, &r);
  }
  config::RunConfig config(int h, int w, const std::string& pack = "") const {
    config::RunConfig c;
    auto* d = c.mutable_data();
    d->set_source(config::DataConfig::SYSU_MM01);
    d->set_root((root / "sysu").string());
    d->set_height(h);
    d->set_width(w);
    d->set_pack(pack);
    d->set_loader_threads(0);
    d->set_decode_check_on_load(false);
    return c;
  }
  const std::string& pack(int h, int w) {
    auto& p = packs[{h, w}];
    if (p.empty()) {
      p = (root / ("p" + std::to_string(h) + ".pack")).string();
      dataset::PackOptions o;
      o.height = h;
      o.width = w;
      dataset::ValidationReport r;
      dataset::write_pack(p, listing, o, r);
    }
    return p;
  }
};

BenchDataset& dataset() {
  static BenchDataset d;
  return d;
}

void BM_DecodeJpegAndResize(benchmark::State& state) {
  auto& d = dataset();
  const int h = static_cast<int>(state.range(0)), w = h / 2;
  size_t i = 0;
  for (auto _ : state) {
    const auto& r = d.listing.records[i++ % d.listing.records.size()];
    benchmark::DoNotOptimize(dataset::resize_bilinear(dataset::read_image_file(d.listing.full_path(r)), h, w));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("images");
}
BENCHMARK(BM_DecodeJpegAndResize)->Arg(128)->Arg(384)->Unit(benchmark::kMicrosecond);

void BM_ReadPack(benchmark::State& state) {
  auto& d = dataset();
  const int h = static_cast<int>(state.range(0)), w = h / 2;
  dataset::PackReader pack(d.pack(h, w));
  const bool verify = state.range(1) != 0;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(pack.image(i++ % pack.size(), verify));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(verify ? "images, CRC checked" : "images");
}
BENCHMARK(BM_ReadPack)->Args({128, 1})->Args({384, 1})->Args({384, 0})->Unit(benchmark::kMicrosecond);

// A 7 x (8 + 8) batch with flips, crops and the float conversion, in the
// calling thread: the work one loader thread does per batch.
void BM_LoaderBatch(benchmark::State& state) {
  auto& d = dataset();
  const int h = static_cast<int>(state.range(0)), w = h / 2;
  const bool packed = state.range(1) != 0;
  auto c = d.config(h, w, packed ? d.pack(h, w) : "");
  c.mutable_data()->set_ids_per_batch(7);
  c.mutable_data()->set_images_per_modality(8);
  std::ostringstream log;
  auto data = loader::open_training_data(c, 0, 1, false, log);
  int64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(data.loader->assemble(step++));
  state.SetItemsProcessed(state.iterations() * data.sampler->batch_size());
  state.SetLabel(packed ? "images from the pack" : "images from JPEG");
}
BENCHMARK(BM_LoaderBatch)->Args({128, 0})->Args({128, 1})->Args({384, 0})->Args({384, 1})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
