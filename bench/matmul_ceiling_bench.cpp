// The machine's matrix-multiply ceiling as LibTorch reaches it (the same
// library, BLAS and oneDNN that the training step uses), in float32 and
// bfloat16, with RFM_BENCH_THREADS intra-op threads: large square products
// (torch::mm: OpenBLAS's sgemm in float32, oneDNN in bfloat16) and large
// convolutions (oneDNN in both), whose float32 kernels run well above the
// sgemm.  bench/run_all takes the best rate of each precision as its
// ceiling and sets the training step's FLOP rate
// (bench/peers/model_flops.py) against it.
//   RFM_BENCH_THREADS=2 build/bench/rfm_matmul_ceiling_bench
// RFM_BENCH_DEVICE=cuda measures the GPU instead (bench/gpu/run), with
// larger shapes and a third precision: float32 inputs on TF32 tensor cores
// (the label "tf32"), which cuDNN uses for float32 convolutions unless told
// not to.  "float32" there is IEEE float32 throughout.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "bench/run_benchmarks.h"

namespace {

int threads() {
  const char* v = std::getenv("RFM_BENCH_THREADS");
  return v != nullptr ? std::max(1, std::stoi(v)) : 1;
}

bool on_cuda() {
  const char* v = std::getenv("RFM_BENCH_DEVICE");
  return v != nullptr && std::string(v).rfind("cuda", 0) == 0;
}

// Precision argument: 0 float32, 1 bfloat16, 2 float32 on TF32 tensor cores.
const char* precision_label(int64_t code) { return code == 1 ? "bfloat16" : code == 2 ? "tf32" : "float32"; }

// Sets TF32 for matrix products and convolutions alike, as the case asks,
// and puts the flags back afterwards.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool on)
      : cublas_(at::globalContext().allowTF32CuBLAS()), cudnn_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuBLAS(on);
    at::globalContext().setAllowTF32CuDNN(on);
  }
  ~Tf32Scope() {
    at::globalContext().setAllowTF32CuBLAS(cublas_);
    at::globalContext().setAllowTF32CuDNN(cudnn_);
  }

 private:
  bool cublas_, cudnn_;
};

void finish(const torch::Tensor& t) {
  if (t.is_cuda()) torch::cuda::synchronize();
  benchmark::DoNotOptimize(t.data_ptr());
}

// Args: matrix size n, and the precision code.
void BM_MatmulCeiling(benchmark::State& state) {
  torch::set_num_threads(threads());
  const int64_t n = state.range(0);
  const auto dtype = state.range(1) == 1 ? torch::kBFloat16 : torch::kFloat32;
  const auto device = on_cuda() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  Tf32Scope tf32(state.range(1) == 2);
  torch::manual_seed(1);
  const auto a = torch::randn({n, n}).to(device, dtype);
  const auto b = torch::randn({n, n}).to(device, dtype);
  auto c = torch::mm(a, b);  // warm-up: the kernels' first call picks and packs
  finish(c);
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    finish(c);
  }
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  state.counters["gflop_per_s"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = torch::get_num_threads();
  state.SetLabel(precision_label(state.range(1)));
}

// Args: 0 for a 3x3 convolution of 256 channels on 32 images of 32x16
// (layer3's shape at 512x256 input), 1 for a 1x1 convolution of 512
// channels on one 64x64 map; and the precision code.  On a GPU the batch is
// 16 times larger (512 images, 16 maps), channels-last as the trainer's
// train.channels_last keeps them, and cuDNN picks its fastest algorithm.
void BM_ConvolutionCeiling(benchmark::State& state) {
  torch::set_num_threads(threads());
  const bool three = state.range(0) == 0;
  const bool cuda = on_cuda();
  const int64_t batch = cuda ? 16 : 1;
  const auto dtype = state.range(1) == 1 ? torch::kBFloat16 : torch::kFloat32;
  const auto device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  const auto format = cuda ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  Tf32Scope tf32(state.range(1) == 2);
  if (cuda) at::globalContext().setBenchmarkCuDNN(true);
  torch::manual_seed(1);
  const auto input = (three ? torch::randn({32 * batch, 256, 32, 16}) : torch::randn({batch, 512, 64, 64}))
                         .to(device, dtype)
                         .contiguous(format);
  const auto weight = (three ? torch::randn({256, 256, 3, 3}) : torch::randn({512, 512, 1, 1}))
                          .to(device, dtype)
                          .contiguous(format);
  const int64_t padding = three ? 1 : 0;
  torch::NoGradGuard no_grad;
  auto out = torch::conv2d(input, weight, {}, 1, padding);  // warm-up: the library builds or picks its kernel
  finish(out);
  for (auto _ : state) {
    out = torch::conv2d(input, weight, {}, 1, padding);
    finish(out);
  }
  const double flops = 2.0 * static_cast<double>(out.numel()) * static_cast<double>(weight[0].numel());
  state.counters["gflop_per_s"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = torch::get_num_threads();
  state.SetLabel(precision_label(state.range(1)));
}

}  // namespace

int main(int argc, char** argv) {
  // The CPU: float32 and bfloat16.  A GPU: larger products, and TF32 too.
  const bool cuda = on_cuda();
  const std::vector<int64_t> sizes = cuda ? std::vector<int64_t>{4096, 8192} : std::vector<int64_t>{1024, 2048, 4096};
  const std::vector<int64_t> precisions = cuda ? std::vector<int64_t>{0, 1, 2} : std::vector<int64_t>{0, 1};
  benchmark::RegisterBenchmark("BM_MatmulCeiling", BM_MatmulCeiling)
      ->ArgsProduct({sizes, precisions})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.5);
  benchmark::RegisterBenchmark("BM_ConvolutionCeiling", BM_ConvolutionCeiling)
      ->ArgsProduct({{0, 1}, precisions})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.5);
  return rfm::bench::run_registered_benchmarks(argc, argv);
}
