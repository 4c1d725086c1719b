// The 3x3 stride-1 convolutions of the benchmarked steps, forward and both
// gradients, as LibTorch runs them (oneDNN) and as Winograd F(2x2, 3x3)
// and F(4x4, 3x3) run them (trainer/kernels/winograd_conv.h).  The shapes are the layers of
// the two steps rfm_step_bench measures: ResNet-18 at 128x64 with 32 images
// (MAM's layer4 copies take 16 each) and ResNet-50 at 384x192 with 8.
//
//   RFM_BENCH_THREADS=2 build/bench/rfm_conv_bench --benchmark_enable_random_interleaving=true

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "bench/run_benchmarks.h"
#include "trainer/engine/heap_retention.h"
#include "trainer/kernels/winograd_conv.h"

namespace {

struct Layer {
  const char* name;
  int64_t batch, in, out, h, w;
};

constexpr Layer kLayers[] = {
    {"r18_l1_64x32x16", 32, 64, 64, 32, 16},       {"r18_l2_128x16x8", 32, 128, 128, 16, 8},
    {"r18_l3_256x8x4", 32, 256, 256, 8, 4},        {"r18_l4a_256to512x8x4", 16, 256, 512, 8, 4},
    {"r18_l4_512x8x4", 16, 512, 512, 8, 4},        {"r50_l1_64x96x48", 8, 64, 64, 96, 48},
    {"r50_l2_128x48x24", 8, 128, 128, 48, 24},     {"r50_l3_256x24x12", 8, 256, 256, 24, 12},
    {"r50_l4_512x24x12", 8, 512, 512, 24, 12},     {"r50_l4a_256to512x24x12", 4, 256, 512, 24, 12},
    {"r50_l4_mam_512x24x12", 4, 512, 512, 24, 12},
};

// kDirect: LibTorch's convolution; the others winograd_conv3x3 with that tile.
enum class Path { kDirect, kWinograd2x2, kWinograd4x4 };

void run_layer(benchmark::State& state, const Layer& layer, Path path) {
  torch::manual_seed(0);
  auto x = torch::randn({layer.batch, layer.in, layer.h, layer.w}).requires_grad_();
  auto w = (torch::randn({layer.out, layer.in, 3, 3}) * 0.05).requires_grad_();
  auto dy = torch::randn({layer.batch, layer.out, layer.h, layer.w});
  for (auto _ : state) {
    auto y = path == Path::kDirect        ? torch::conv2d(x, w, {}, 1, 1)
             : path == Path::kWinograd2x2 ? rfm::kernels::winograd_conv3x3(x, w, rfm::kernels::WinogradTile::k2x2)
                                          : rfm::kernels::winograd_conv3x3(x, w, rfm::kernels::WinogradTile::k4x4);
    y.backward(dy);
    benchmark::DoNotOptimize(w.grad().data_ptr<float>());
    x.mutable_grad().reset();
    w.mutable_grad().reset();
  }
  const double flops = 3.0 * 2.0 * layer.batch * layer.in * layer.out * layer.h * layer.w * 9;
  state.counters["direct_GFLOP/s"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const char* threads = std::getenv("RFM_BENCH_THREADS");
  torch::set_num_threads(threads != nullptr ? std::max(1, std::atoi(threads)) : 1);
  rfm::engine::retain_freed_memory();  // as the trainer does: no page faults on every iteration's buffers
  for (const Layer& layer : kLayers) {
    for (const auto& [prefix, path] : {std::pair{"BM_ConvDirect/", Path::kDirect},
                                       std::pair{"BM_ConvWinograd/", Path::kWinograd2x2},
                                       std::pair{"BM_ConvWinograd4x4/", Path::kWinograd4x4}}) {
      const std::string name = prefix + std::string(layer.name);
      benchmark::RegisterBenchmark(name.c_str(), [layer, path = path](benchmark::State& s) { run_layer(s, layer, path); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return rfm::bench::run_registered_benchmarks(argc, argv);
}
