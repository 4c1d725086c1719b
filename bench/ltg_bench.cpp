// LTG (Algorithm 1) on one 7 x (8 + 8) = 112-image batch: the per-image
// reference (pixel loops, one image after another) against the batched
// tensor implementation the trainer runs, at the paper's 384x192 and at the
// demo's 128x64.  Both read the same seeds, so they do the same rectangles
// (tests/test_ltg.cpp checks they give the same images).
//   build/bench/rfm_ltg_bench --benchmark_enable_random_interleaving=true --benchmark_repetitions=5
// bench/run_all pairs the two into the speed-up with its spread.  Where a
// GPU is present, BM_LtgCuda runs the trainer's CUDA path (the whole-batch
// tensor rounds) on the batch already on the device: bench/gpu/run sets it
// against BM_LtgBatched on the machine's CPU threads.
#include <benchmark/benchmark.h>

#include <vector>

#include <torch/cuda.h>

#include "bench/run_benchmarks.h"
#include "trainer/augment/ltg.h"

using namespace rfm::augment;

namespace {

constexpr int64_t kBatch = 112;

// Uniform pixels in [0, 1]; probability 1 so that every image is
// transformed (the trainer's p = 0.5 halves both sides alike).
struct LtgInput {
  torch::Tensor images;
  std::vector<uint64_t> seeds;
  LtgOptions options;
  LtgInput(int64_t height, int64_t width) {
    torch::manual_seed(3);
    images = torch::rand({kBatch, 3, height, width});
    for (int64_t i = 0; i < kBatch; ++i) seeds.push_back(rfm::data::mix64(11, static_cast<uint64_t>(i)));
    options.probability = 1.0;
  }
};

const LtgInput& input(int64_t height) {
  static LtgInput large(384, 192), small(128, 64);
  return height == 384 ? large : small;
}

int64_t count_rectangles(const LtgInput& in) {
  int64_t n = 0;
  for (int64_t i = 0; i < kBatch; ++i) {
    n += static_cast<int64_t>(ltg_reference(in.images[i], in.options, in.seeds[i]).rectangles.size());
  }
  return n;
}

void BM_LtgReference(benchmark::State& state) {
  const auto& in = input(state.range(0));
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(ltg_reference(in.images[i], in.options, in.seeds[i]));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// What the trainer runs: the batch it has just converted to float, transformed
// in place.  Refilling that buffer with the input between iterations is not
// timed (the trainer has no such copy).
void BM_LtgBatched(benchmark::State& state) {
  const auto& in = input(state.range(0));
  auto batch = in.images.clone();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ltg_batched_cpu_in_place(batch, in.options, in.seeds));
    state.PauseTiming();
    batch.copy_(in.images);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["rectangles_per_image"] =
      static_cast<double>(count_rectangles(in)) / static_cast<double>(kBatch);
}

// The whole-batch tensor rounds (the CUDA path) on the CPU, at the demo size
// only: at 384x192 one batch takes over a minute (docs/PERFORMANCE.md).
void BM_LtgBatchedTensor(benchmark::State& state) {
  const auto& in = input(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(ltg_batched_tensor(in.images, in.options, in.seeds));
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// What the trainer runs on a GPU: the uint8 batch has been copied over and
// converted there, and LTG's rounds run on it (their draws on the host).
// Each iteration ends when the device is done.
void BM_LtgCuda(benchmark::State& state) {
  const auto& in = input(state.range(0));
  const auto batch = in.images.to(torch::kCUDA);
  benchmark::DoNotOptimize(ltg_batched(batch, in.options, in.seeds).images);  // warm-up: the kernels load
  torch::cuda::synchronize();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ltg_batched(batch, in.options, in.seeds).images);
    torch::cuda::synchronize();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_LtgReference)->Arg(384)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LtgBatched)->Arg(384)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LtgBatchedTensor)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Like the trainer: intra-op threads set explicitly (RFM_BENCH_THREADS,
  // default 1; Debian's LibTorch would otherwise pick 1 anyway).
  const char* threads = std::getenv("RFM_BENCH_THREADS");
  torch::set_num_threads(threads != nullptr ? std::max(1, std::atoi(threads)) : 1);
  if (torch::cuda::is_available()) {
    for (int64_t height : {384, 128}) {
      benchmark::RegisterBenchmark("BM_LtgCuda", BM_LtgCuda)->Arg(height)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  }
  return rfm::bench::run_registered_benchmarks(argc, argv);
}
