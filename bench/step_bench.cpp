// One process's training step (LTG off: bench/ltg_bench measures it), on
// batches made before timing, so nothing else runs beside the step: the
// counterpart of bench/peers/torch_rfm_step.py.
//   RFM_BENCH_THREADS=2 build/bench/rfm_step_bench --benchmark_repetitions=3
// Environment: RFM_BENCH_RELEASE_HEAP (glibc's default heap instead of
// train.retain_freed_memory), RFM_BENCH_THREADS (1), RFM_BENCH_DEPTH (50), RFM_BENCH_HEIGHT
// (384), RFM_BENCH_PARTS (12), RFM_BENCH_PART_DIM (256), RFM_BENCH_CLASSES
// (395), RFM_BENCH_IDS (2), RFM_BENCH_PER_MODALITY (2), RFM_BENCH_SET (more
// config overrides, separated by ';', e.g.
// "train.precision=BF16;train.channels_last=true"), RFM_BENCH_DEVICE (cpu;
// "cuda" for the GPU, with the batches in page-locked memory as the loader
// keeps them, and the device waited for after every step),
// RFM_BENCH_ITERATIONS (timed steps, 4), RFM_BENCH_NO_TF32 (CUDA: float32
// convolutions in IEEE float32, not cuDNN's default TF32), RFM_BENCH_PROFILE (a Chrome trace
// of one step), RFM_BENCH_FLUSH_DENORMAL (flush denormals on every intra-op
// thread), RFM_BENCH_NCCL (CUDA: the step through the NCCL transport at a
// world of one rank, its buckets started during backward on the side stream;
// the run fails unless some bucket started before backward returned).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include <torch/csrc/autograd/profiler.h>
#include <torch/cuda.h>

#include "bench/run_benchmarks.h"
#ifdef RFM_HAVE_NCCL
#include "comm/nccl_transport.h"
#endif
#include "proto/config_loader.h"
#include "trainer/kernels/intra_op_threads.h"
#include "trainer/engine/heap_retention.h"
#include "trainer/engine/trainer.h"
#include "trainer/process/worker_resources.h"

using namespace rfm;

namespace {

std::string env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

void BM_TrainStep(benchmark::State& state) {
  const int height = std::stoi(env("RFM_BENCH_HEIGHT", "384"));
  std::vector<std::string> sets = {
      "model.depth=" + env("RFM_BENCH_DEPTH", "50"), "model.num_parts=" + env("RFM_BENCH_PARTS", "12"),
      "model.part_dim=" + env("RFM_BENCH_PART_DIM", "256"), "model.num_classes=" + env("RFM_BENCH_CLASSES", "395"),
      "data.height=" + std::to_string(height), "data.width=" + std::to_string(height / 2),
      "data.ids_per_batch=" + env("RFM_BENCH_IDS", "2"),
      "data.images_per_modality=" + env("RFM_BENCH_PER_MODALITY", "2"), "ltg.enabled=false"};
  const std::string device = env("RFM_BENCH_DEVICE", "cpu");
  sets.push_back("train.device=" + device);
  std::stringstream more(env("RFM_BENCH_SET", ""));
  for (std::string set; std::getline(more, set, ';');) {
    if (!set.empty()) sets.push_back(set);
  }
  auto config = config::load_run_config("", sets);
  torch::set_num_threads(std::max(1, std::stoi(env("RFM_BENCH_THREADS", "1"))));
  // The flag lives in each thread's MXCSR: set on the calling thread alone,
  // it left the intra-op threads that run half of every kernel without it.
  if (!env("RFM_BENCH_FLUSH_DENORMAL", "").empty()) {
    kernels::run_on_intra_op_threads(torch::get_num_threads(), [](int) { at::globalContext().setFlushDenormal(true); });
    at::globalContext().setFlushDenormal(true);
  }
  // As `rfm train` does unless train.retain_freed_memory is false;
  // RFM_BENCH_RELEASE_HEAP=1 measures glibc's default instead.
  if (env("RFM_BENCH_RELEASE_HEAP", "").empty()) engine::retain_freed_memory();
  if (!env("RFM_BENCH_NO_TF32", "").empty()) at::globalContext().setAllowTF32CuDNN(false);
  const auto resources = process::resolve_worker(config, comm::ProcessPlacement{});
  std::shared_ptr<comm::TensorTransport> transport;
  if (!env("RFM_BENCH_NCCL", "").empty()) {
    if (!resources.device.is_cuda()) {
      state.SkipWithError("RFM_BENCH_NCCL needs RFM_BENCH_DEVICE=cuda");
      return;
    }
#ifdef RFM_HAVE_NCCL
    comm::NcclOptions nccl;
    nccl.device_index = resources.device.has_index() ? resources.device.index() : 0;
    transport = comm::NcclTransport::alone(nccl);
#else
    state.SkipWithError("RFM_BENCH_NCCL: this build has no NCCL backend");
    return;
#endif
  }
  engine::Trainer trainer(resources.config, resources.device, transport);
  const bool cuda = trainer.device().is_cuda();
  // CUDA runs behind the host: each timed step ends when the device is done.
  auto wait_for_device = [&] {
    if (cuda) torch::cuda::synchronize(trainer.device().index());
  };
  engine::RandomIdentityOptions o;
  o.num_identities = config.model().num_classes();  // labels must index the classifiers
  o.height = height;
  o.width = height / 2;
  o.ids_per_batch = config.data().ids_per_batch();
  o.per_modality = config.data().images_per_modality();
  engine::RandomIdentityBatches batches(o);
  std::vector<engine::TrainBatch> ready;
  for (int64_t s = 0; s < 4; ++s) {
    auto b = batches.batch(s);
    b.images = b.images.mul(255).to(torch::kUInt8);  // what the loader hands over
    if (cuda) {
      b.images = b.images.pin_memory();
      b.labels = b.labels.pin_memory();
      b.modality = b.modality.pin_memory();
    }
    ready.push_back(b);
  }
  int64_t step = 0;
  // Warm-up, untimed: oneDNN's primitives, or cuDNN's algorithm search.
  for (; step < 2; ++step) trainer.step(ready[step % 4], step, 0.0);
  wait_for_device();
  // RFM_BENCH_PROFILE=trace.json: one more step under the autograd
  // profiler, written as a Chrome trace (bench/peers/profile_summary.py).
  if (!env("RFM_BENCH_PROFILE", "").empty()) {
    torch::autograd::profiler::RecordProfile profile(env("RFM_BENCH_PROFILE", ""));
    trainer.step(ready[step % 4], step, 0.0);
    ++step;
  }
  double forward = 0, backward = 0, optimizer = 0;
  for (auto _ : state) {
    const auto stats = trainer.step(ready[step % 4], step, 0.0);
    wait_for_device();
    forward += stats.forward_seconds;
    backward += stats.backward_seconds;
    optimizer += stats.optimizer_seconds + stats.all_reduce_seconds;
    ++step;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["forward_s"] = forward / n;
  state.counters["backward_s"] = backward / n;
  state.counters["optimizer_s"] = optimizer / n;
  if (const auto* reducer = trainer.reducer()) {
    state.counters["buckets"] = static_cast<double>(reducer->buckets().size());
    state.counters["buckets_during_backward"] = static_cast<double>(reducer->started_during_backward());
    if (reducer->overlapping() && reducer->started_during_backward() == 0) {
      state.SkipWithError("no gradient bucket started during backward");
    }
  }
  state.SetItemsProcessed(state.iterations() * o.ids_per_batch * o.per_modality * 2);
}
}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_TrainStep", BM_TrainStep)
      ->Iterations(std::max(1, std::stoi(env("RFM_BENCH_ITERATIONS", "4"))))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return rfm::bench::run_registered_benchmarks(argc, argv);
}
