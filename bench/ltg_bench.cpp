// LTG (Algorithm 1) on one 7 x (8 + 8) = 112-image batch: the per-image
// reference (pixel loops, one image after another) against the batched
// tensor implementation the trainer runs, at the paper's 384x192 and at the
// demo's 128x64.  Both read the same seeds, so they do the same rectangles
// (tests/test_ltg.cpp checks they give the same images).
//   build/bench/rfm_ltg_bench --benchmark_enable_random_interleaving=true --benchmark_repetitions=5
// bench/run_all pairs the two into the speed-up with its spread.  Where a
// GPU is present, BM_LtgCuda runs the trainer's CUDA path (the one-launch
// kernel where it was built) on the batch already on the device, and
// BM_LtgCudaTensorRounds the tensor rounds it replaces: bench/gpu/run sets
// them against BM_LtgBatched on the machine's CPU threads.  Before timing
// anything on a GPU the program checks the CUDA path against the reference
// bit for bit (112 images at each size, on the default stream and with a
// pool stream current) and exits 1 on a difference; the
// bench-only build has no GoogleTest, so this is the GPU machine's test.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>
#include <vector>

#include <torch/cuda.h>
#ifdef RFM_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

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
    for (int64_t i = 0; i < kBatch; ++i) seeds.push_back(rfm::dataset::mix64(11, static_cast<uint64_t>(i)));
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

// The whole-batch tensor rounds on the CPU, at the demo size only: every
// round passes over the whole batch, so at 384x192 one batch takes minutes.
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

// The tensor rounds on the device: what the kernel replaces.
void BM_LtgCudaTensorRounds(benchmark::State& state) {
  const auto& in = input(state.range(0));
  const auto batch = in.images.to(torch::kCUDA);
  benchmark::DoNotOptimize(ltg_batched_tensor(batch, in.options, in.seeds).images);
  torch::cuda::synchronize();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ltg_batched_tensor(batch, in.options, in.seeds).images);
    torch::cuda::synchronize();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// The CUDA path's images and rectangle counts against the reference's, bit
// for bit, twice: on the default stream, and with a stream of LibTorch's
// pool made current (non-blocking, so nothing orders it with the legacy
// default stream): the launch must follow the current stream, or the
// copies back, queued on that stream, may read the images before the
// kernel wrote them.  Prints one line on stderr (stdout may be the
// benchmarks' JSON) and returns whether all were equal.
bool cuda_path_equals_reference() {
  int64_t images = 0, rectangles = 0, different = 0;
  for (const bool side_stream : {false, true}) {
#ifdef RFM_TORCH_CUDA
    std::optional<c10::cuda::CUDAStreamGuard> guard;
    if (side_stream) guard.emplace(c10::cuda::getStreamFromPool());
#else
    if (side_stream) continue;  // a CPU LibTorch: no streams to choose
#endif
    for (int64_t height : {384, 128}) {
      const auto& in = input(height);
      const auto out = ltg_batched(in.images.to(torch::kCUDA), in.options, in.seeds);
      const auto pixels = out.images.cpu();
      const auto used = out.rectangles_used_on_host();
      for (int64_t i = 0; i < kBatch; ++i) {
        const auto ref = ltg_reference(in.images[i], in.options, in.seeds[i]);
        const bool same = torch::equal(ref.image, pixels[i]) &&
                          static_cast<int>(ref.rectangles.size()) == used[static_cast<size_t>(i)];
        if (!same && different++ < 5) {
          std::fprintf(stderr, "rfm_ltg_bench: CUDA LTG differs from the reference at %ldx%ld, image %ld (%s)\n",
                       static_cast<long>(height), static_cast<long>(height / 2), static_cast<long>(i),
                       side_stream ? "a pool stream current" : "the default stream");
        }
        rectangles += static_cast<int64_t>(ref.rectangles.size());
        ++images;
      }
    }
  }
  std::fprintf(stderr,
               "CUDA LTG check (%s): %ld of %ld images equal the reference bit for bit (%ld rectangles; the default "
               "stream and a pool stream current)\n",
               ltg_cuda_kernel_built() ? "one-launch kernel" : "tensor rounds", static_cast<long>(images - different),
               static_cast<long>(images), static_cast<long>(rectangles));
  return different == 0;
}

BENCHMARK(BM_LtgReference)->Arg(384)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LtgBatched)->Arg(384)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LtgBatchedTensor)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Like the trainer: intra-op threads set explicitly (RFM_BENCH_THREADS,
  // default 1).
  const char* threads = std::getenv("RFM_BENCH_THREADS");
  torch::set_num_threads(threads != nullptr ? std::max(1, std::atoi(threads)) : 1);
  if (torch::cuda::is_available()) {
    if (!cuda_path_equals_reference()) return 1;
    for (int64_t height : {384, 128}) {
      benchmark::RegisterBenchmark("BM_LtgCuda", BM_LtgCuda)->Arg(height)->Unit(benchmark::kMillisecond)->UseRealTime();
      benchmark::RegisterBenchmark("BM_LtgCudaTensorRounds", BM_LtgCudaTensorRounds)
          ->Arg(height)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return rfm::bench::run_registered_benchmarks(argc, argv);
}
