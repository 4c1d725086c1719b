// NCCL's all-reduce on every GPU this process sees, one communicator per GPU
// in the one process (ncclCommInitAll: no MPI needed), the way nccl-tests
// measures it: float32 sums in place, from 1 MiB to 1 GiB and at the RFM
// ResNet-50's gradient size, each iteration timed on the host from the
// group's launch to the last stream's completion.
//   build/bench/rfm_nccl_bench --benchmark_format=json
// Counters: algbw_GBps (bytes / time) and busbw_GBps (algbw x 2(n-1)/n, the
// traffic a ring puts on each link, comparable across GPU counts).  With one
// GPU the bus carries nothing and busbw is 0: the number then says only what
// the call costs.  Built where CMake finds NCCL and the CUDA runtime.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(r));
}

constexpr size_t kMaxBytes = size_t{1} << 30;
// The RFM model's float32 gradients (44,464,192 parameters, ResNet-50 and 12 parts).
constexpr int64_t kGradientBytes = int64_t{44464192} * 4;

// One communicator, stream and buffer per GPU, made once for all sizes.
class DeviceGroup {
 public:
  DeviceGroup() {
    check(cudaGetDeviceCount(&count_), "cudaGetDeviceCount");
    if (count_ < 1) throw std::runtime_error("no CUDA device");
    comms_.resize(static_cast<size_t>(count_));
    check(ncclCommInitAll(comms_.data(), count_, nullptr), "ncclCommInitAll");
    for (int d = 0; d < count_; ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      cudaStream_t stream;
      check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
      streams_.push_back(stream);
      void* buffer = nullptr;
      check(cudaMalloc(&buffer, kMaxBytes), "cudaMalloc");
      check(cudaMemset(buffer, 0, kMaxBytes), "cudaMemset");
      buffers_.push_back(static_cast<float*>(buffer));
    }
  }
  ~DeviceGroup() {
    for (int d = 0; d < count_; ++d) {
      cudaSetDevice(d);
      cudaFree(buffers_[static_cast<size_t>(d)]);
      cudaStreamDestroy(streams_[static_cast<size_t>(d)]);
      ncclCommDestroy(comms_[static_cast<size_t>(d)]);
    }
  }
  int count() const { return count_; }

  void all_reduce(size_t floats) {
    check(ncclGroupStart(), "ncclGroupStart");
    for (size_t d = 0; d < comms_.size(); ++d) {
      check(ncclAllReduce(buffers_[d], buffers_[d], floats, ncclFloat, ncclSum, comms_[d], streams_[d]), "ncclAllReduce");
    }
    check(ncclGroupEnd(), "ncclGroupEnd");
    for (auto s : streams_) check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  }

 private:
  int count_ = 0;
  std::vector<ncclComm_t> comms_;
  std::vector<cudaStream_t> streams_;
  std::vector<float*> buffers_;
};

DeviceGroup* group = nullptr;

void BM_NcclAllReduce(benchmark::State& state) {
  const auto bytes = static_cast<size_t>(state.range(0));
  const size_t floats = bytes / sizeof(float);
  for (int i = 0; i < 3; ++i) group->all_reduce(floats);  // warm-up: NCCL sets up its channels
  for (auto _ : state) group->all_reduce(floats);
  const double n = group->count();
  state.counters["gpus"] = n;
  state.counters["algbw_GBps"] =
      benchmark::Counter(static_cast<double>(bytes) * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["busbw_GBps"] =
      benchmark::Counter(static_cast<double>(bytes) * 1e-9 * static_cast<double>(state.iterations()) * 2.0 * (n - 1) / n,
                         benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    group = new DeviceGroup();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rfm_nccl_bench: %s\n", e.what());
    return 1;
  }
  auto* b = benchmark::RegisterBenchmark("BM_NcclAllReduce", BM_NcclAllReduce);
  for (int64_t bytes = int64_t{1} << 20; bytes <= static_cast<int64_t>(kMaxBytes); bytes *= 4) b->Arg(bytes);
  b->Arg(kGradientBytes)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  int rc = 0;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rfm_nccl_bench: %s\n", e.what());
    rc = 1;
  }
  benchmark::Shutdown();
  delete group;
  return rc;
}
