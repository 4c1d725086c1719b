// The machine's matrix-multiply ceiling as LibTorch reaches it (the same
// library, BLAS and oneDNN that the training step uses), in float32 and
// bfloat16, with RFM_BENCH_THREADS intra-op threads: large square products
// (torch::mm: OpenBLAS's sgemm in float32, oneDNN in bfloat16) and large
// convolutions (oneDNN in both), whose float32 kernels run well above the
// sgemm.  bench/run_all takes the best rate of each precision as its
// ceiling and sets the training step's FLOP rate
// (bench/peers/model_flops.py) against it.
//   RFM_BENCH_THREADS=2 build/bench/rfm_matmul_ceiling_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include <torch/torch.h>

namespace {

int threads() {
  const char* v = std::getenv("RFM_BENCH_THREADS");
  return v != nullptr ? std::max(1, std::stoi(v)) : 1;
}

// Args: matrix size n, and 0 for float32 or 1 for bfloat16.
void BM_MatmulCeiling(benchmark::State& state) {
  torch::set_num_threads(threads());
  const int64_t n = state.range(0);
  const auto dtype = state.range(1) == 1 ? torch::kBFloat16 : torch::kFloat32;
  torch::manual_seed(1);
  const auto a = torch::randn({n, n}).to(dtype);
  const auto b = torch::randn({n, n}).to(dtype);
  auto c = torch::mm(a, b);  // warm-up: the kernels' first call picks and packs
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  state.counters["gflop_per_s"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = torch::get_num_threads();
  state.SetLabel(state.range(1) == 1 ? "bfloat16" : "float32");
}
BENCHMARK(BM_MatmulCeiling)
    ->ArgsProduct({{1024, 2048, 4096}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(0.5);

// Args: 0 for a 3x3 convolution of 256 channels on 32 images of 32x16
// (layer3's shape at 512x256 input), 1 for a 1x1 convolution of 512
// channels on one 64x64 map; and 0 for float32 or 1 for bfloat16.
void BM_ConvolutionCeiling(benchmark::State& state) {
  torch::set_num_threads(threads());
  const bool three = state.range(0) == 0;
  const auto dtype = state.range(1) == 1 ? torch::kBFloat16 : torch::kFloat32;
  torch::manual_seed(1);
  const auto input = (three ? torch::randn({32, 256, 32, 16}) : torch::randn({1, 512, 64, 64})).to(dtype);
  const auto weight = (three ? torch::randn({256, 256, 3, 3}) : torch::randn({512, 512, 1, 1})).to(dtype);
  const int64_t padding = three ? 1 : 0;
  torch::NoGradGuard no_grad;
  auto out = torch::conv2d(input, weight, {}, 1, padding);  // warm-up: oneDNN builds its primitive
  for (auto _ : state) {
    out = torch::conv2d(input, weight, {}, 1, padding);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  const double flops = 2.0 * static_cast<double>(out.numel()) * static_cast<double>(weight[0].numel());
  state.counters["gflop_per_s"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = torch::get_num_threads();
  state.SetLabel(state.range(1) == 1 ? "bfloat16" : "float32");
}
BENCHMARK(BM_ConvolutionCeiling)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
