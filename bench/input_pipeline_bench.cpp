// The training input pipeline as the trainer consumes it: the prefetching
// loader's worker threads decode (or read from the pack), resize, flip, pad
// and crop a 7 x (8 + 8) batch into uint8 CHW, and the consumer takes
// batches as fast as they come.  The counterpart of
// bench/peers/torch_input_pipeline.py (a DataLoader over PIL, the same
// files, the same batches, the same number of workers).
//   RFM_BENCH_DATASET=/tmp/sysu RFM_BENCH_PLAN=/tmp/plan.tsv build/bench/rfm_input_pipeline_bench
// Environment:
//   RFM_BENCH_DATASET  a SYSU-MM01-layout dataset (default: the synthetic one
//                      written once to a temporary folder, 288x144 visible)
//   RFM_BENCH_PACK     the pack to read (built when absent); default beside
//                      the dataset
//   RFM_BENCH_HEIGHT   network input height (384; width is half)
//   RFM_BENCH_BATCHES  timed batches per benchmark (16), after 2 untimed
//   RFM_BENCH_PLAN     write the batches' files here first (one batch per
//                      line: path,label,modality separated by spaces), for
//                      the peer to load the same images
//   RFM_BENCH_RELEASE_HEAP  glibc's default heap instead of the trainer's
//                      train.retain_freed_memory
// Benchmarks: BM_InputPipeline/<worker threads>/<0 JPEG, 1 pack>.
// Prefetch depth is 2 batches per worker thread, as a DataLoader's
// prefetch_factor=2.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "dataset/dataset_source.h"
#include "dataset/synthetic/synthetic_dataset.h"
#include "loader/training_data.h"
#include "trainer/engine/heap_retention.h"

namespace fs = std::filesystem;
using namespace rfm;

namespace {

constexpr int kWarmupBatches = 2;

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

int height() { return std::stoi(env("RFM_BENCH_HEIGHT", "384")); }
int timed_batches() { return std::max(1, std::stoi(env("RFM_BENCH_BATCHES", "16"))); }

const std::string& dataset_root() {
  static const std::string root = [] {
    const auto given = env("RFM_BENCH_DATASET", "");
    if (!given.empty()) return given;
    const auto dir = fs::temp_directory_path() / "rfm-input-pipeline-bench" / "sysu";
    if (!fs::exists(dir)) {
      // Written beside and renamed: an interrupted run leaves no half dataset.
      const auto partial = dir.string() + ".partial";
      fs::remove_all(partial);
      config::SyntheticConfig o;
      o.set_train_identities(40);
      o.set_test_identities(4);
      o.set_images_per_camera(6);
      o.set_height(288);
      o.set_width(144);
      dataset::synthetic::write_synthetic_dataset(o, partial, 2);
      fs::rename(partial, dir);
    }
    return dir.string();
  }();
  return root;
}

config::RunConfig run_config(int threads, bool packed) {
  config::RunConfig c;
  auto* d = c.mutable_data();
  d->set_source(config::DataConfig::SYSU_MM01);
  d->set_root(dataset_root());
  d->set_height(height());
  d->set_width(height() / 2);
  d->set_ids_per_batch(7);
  d->set_images_per_modality(8);
  d->set_loader_threads(threads);
  d->set_prefetch_batches(2 * threads);
  d->set_decode_check_on_load(false);
  d->set_pin_memory(false);
  if (packed) {
    d->set_pack(env("RFM_BENCH_PACK", (fs::path(dataset_root()).parent_path() /
                                       ("bench-" + std::to_string(height()) + ".pack")).string()));
  }
  return c;
}

// The files of the batches the benchmark consumes (warm-up included), so
// that the peer loads exactly these images in exactly these batches.
void write_plan(const std::string& path) {
  std::ostringstream log;
  auto data = loader::open_training_data(run_config(1, false), 0, 1, false, log);
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write the plan");
  for (int64_t step = 0; step < kWarmupBatches + timed_batches(); ++step) {
    const auto rows = data.sampler->shard(data.sampler->at_step(step), 0, 1);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = data.set->images[static_cast<size_t>(rows[i].image)];
      const auto file = fs::path(r.path).is_absolute() ? fs::path(r.path) : fs::path(dataset_root()) / r.path;
      out << (i > 0 ? " " : "") << file.string() << ',' << rows[i].label << ',' << rows[i].modality;
    }
    out << '\n';
  }
}

void BM_InputPipeline(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const bool packed = state.range(1) != 0;
  std::ostringstream log;
  auto data = loader::open_training_data(run_config(threads, packed), 0, 1, false, log);
  data.loader->start(0);
  for (int i = 0; i < kWarmupBatches; ++i) benchmark::DoNotOptimize(data.loader->next());
  int64_t images = 0;
  for (auto _ : state) {
    auto batch = data.loader->next();
    images += batch.images.size(0);
    benchmark::DoNotOptimize(batch.images.data_ptr());
  }
  state.SetItemsProcessed(images);
  state.counters["images_per_s"] = benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
  state.SetLabel(packed ? "from the pack" : "from JPEG");
}

void register_benchmarks() {
  for (const int threads : {1, 2}) {
    for (const int packed : {0, 1}) {
      benchmark::RegisterBenchmark("BM_InputPipeline", BM_InputPipeline)
          ->Args({threads, packed})
          ->Iterations(timed_batches())
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto plan = env("RFM_BENCH_PLAN", "");
    if (!plan.empty()) write_plan(plan);
    // As `rfm train` runs, where the batches' 25 MB are reused rather than
    // faulted in again every batch.
    if (env("RFM_BENCH_RELEASE_HEAP", "").empty()) engine::retain_freed_memory();
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const std::exception& e) {
    std::cerr << "rfm_input_pipeline_bench: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
