// Data-parallel communication on 2+ MPI ranks (mpirun -np 2):
//  - BM_GradientSum: the GradientReducer's bucketed sum of the RFM model's
//    gradients against one raw MPI_Allreduce of the same bytes, both in every
//    iteration, so that their ratio comes from the same moments of a noisy
//    machine, with raw against raw as the control;
//  - BM_TrainStep: whole training steps, with the time spent in the losses'
//    collectives (the triplet's gathers, the cross-centre sums, the counts)
//    measured inside the step, and their share of it.
// Every iteration is timed as the slowest rank's; only rank 0 reports.
//   mpirun -np 2 build/bench/rfm_collectives_bench --benchmark_repetitions=5
// Environment: RFM_BENCH_DEPTH (50), RFM_BENCH_HEIGHT (384), RFM_BENCH_PARTS
// (12), RFM_BENCH_IDS (2), RFM_BENCH_PER_MODALITY (2): the step's model and
// global batch.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "comm/gradient_reducer.h"
#include "comm/mpi_session.h"
#include "comm/mpi_transport.h"
#include "proto/config_loader.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/engine/heap_retention.h"
#include "trainer/engine/trainer.h"
#include "trainer/model/rfm_model.h"

using namespace rfm;

namespace {

comm::MpiSession* g_session = nullptr;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

double slowest(double seconds) {
  double out = 0.0;
  MPI_Allreduce(&seconds, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

template <typename F>
double timed(F&& f) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  f();
  return slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

config::RunConfig step_config() {
  const int height = env_int("RFM_BENCH_HEIGHT", 384);
  return config::load_run_config(
      "", {"model.depth=" + std::to_string(env_int("RFM_BENCH_DEPTH", 50)),
           "model.num_parts=" + std::to_string(env_int("RFM_BENCH_PARTS", 12)), "model.num_classes=395",
           "data.height=" + std::to_string(height), "data.width=" + std::to_string(height / 2),
           "data.ids_per_batch=" + std::to_string(env_int("RFM_BENCH_IDS", 2)),
           "data.images_per_modality=" + std::to_string(env_int("RFM_BENCH_PER_MODALITY", 2)), "train.threads=1"});
}

// The transport under the trainer, timing the losses' synchronous
// collectives.  The step's own summary (one float64 vector of 8) is left
// out; the gradient buckets go through start_gradient_sum, untimed here.
class TimedTransport final : public comm::TensorTransport {
 public:
  explicit TimedTransport(std::shared_ptr<comm::TensorTransport> inner) : inner_(std::move(inner)) {}
  // Times f() into the loss collectives when counted.
  template <typename F>
  auto time(bool counted, F&& f) {
    const auto start = std::chrono::steady_clock::now();
    auto out = f();
    if (counted) {
      loss_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++loss_calls;
    }
    return out;
  }
  int rank() const override { return inner_->rank(); }
  int world_size() const override { return inner_->world_size(); }
  torch::Tensor all_reduce_sum(const torch::Tensor& local) override {
    const bool summary = local.scalar_type() == torch::kFloat64 && local.numel() == 8;
    return time(!summary, [&] { return inner_->all_reduce_sum(local); });
  }
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override {
    return time(true, [&] { return inner_->all_gather(local); });
  }
  void all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) override { inner_->all_reduce_sum_in_place(buffers); }
  std::unique_ptr<comm::PendingReduction> start_gradient_sum(torch::Tensor& buffer) override {
    return inner_->start_gradient_sum(buffer);
  }
  bool overlaps_backward() const override { return inner_->overlaps_backward(); }
  void broadcast_in_place(torch::Tensor& tensor, int root) override { inner_->broadcast_in_place(tensor, root); }
  const char* backend_name() const override { return inner_->backend_name(); }

  double loss_seconds = 0.0;
  int64_t loss_calls = 0;

 private:
  std::shared_ptr<comm::TensorTransport> inner_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// The ratio of one repetition is the median of its iterations' paired
// ratios: a single stall of one rank (hundreds of ms on a noisy virtual
// machine) would otherwise decide a ratio of sums.  The order of the two
// sides alternates between iterations, so that neither always runs on the
// caches and pages the other left.  An A/A control, raw against raw on the
// same bytes, shows how far two identical calls differ here.
void BM_GradientSum(benchmark::State& state) {
  auto config = step_config();
  torch::set_num_threads(1);
  model::RfmModel model(model_io::model_options(config));
  auto parameters = model->parameters();
  int64_t elements = 0;
  for (auto& p : parameters) {
    p.mutable_grad() = torch::rand_like(p);
    elements += p.numel();
  }
  auto transport = std::make_shared<comm::MpiTransport>(*g_session);
  comm::GradientReducer reducer(parameters, transport, /*bucket_mb=*/25.0, /*overlap=*/false);
  reducer.all_reduce_gradients();  // attaches the bucket views
  auto flat = torch::rand({elements});
  auto raw_sum = [&] {
    return timed([&] {
      MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(elements), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    });
  };
  // The gradients are where backward leaves them: in the bucket views
  // (attached by the untimed first sum), so this is what follows backward
  // in a step.  The sums compound from iteration to iteration; the bytes
  // moved do not change.
  auto bucketed_sum = [&] { return timed([&] { reducer.all_reduce_gradients(); }); };
  double raw_total = 0.0, bucketed_total = 0.0, nonblocking_total = 0.0;
  std::vector<double> ratios, control_ratios;
  int64_t iteration = 0;
  for (auto _ : state) {
    double raw = 0.0, bucketed = 0.0;
    if (iteration++ % 2 == 0) {
      raw = raw_sum();
      bucketed = bucketed_sum();
    } else {
      bucketed = bucketed_sum();
      raw = raw_sum();
    }
    const double raw_again = raw_sum();
    // The primitive the overlapped buckets use, on the same flat buffer:
    // separates MPI's non-blocking algorithm from the buckets' own costs.
    nonblocking_total += timed([&] {
      MPI_Request request = MPI_REQUEST_NULL;
      MPI_Iallreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(elements), MPI_FLOAT, MPI_SUM,
                     MPI_COMM_WORLD, &request);
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    });
    raw_total += raw;
    bucketed_total += bucketed;
    ratios.push_back(bucketed / raw);
    control_ratios.push_back(raw_again / raw);
    state.SetIterationTime(bucketed);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["raw_ms"] = 1e3 * raw_total / n;
  state.counters["bucketed_ms"] = 1e3 * bucketed_total / n;
  state.counters["iallreduce_ms"] = 1e3 * nonblocking_total / n;
  state.counters["bucketed_over_raw"] = median(ratios);
  state.counters["bucketed_over_raw_of_sums"] = bucketed_total / raw_total;
  state.counters["raw_over_raw"] = median(control_ratios);
  state.counters["MB"] = static_cast<double>(elements) * 4.0 / 1e6;
  state.counters["buckets"] = static_cast<double>(reducer.buckets().size());
  state.SetBytesProcessed(state.iterations() * elements * 4);
}
BENCHMARK(BM_GradientSum)->Iterations(20)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_TrainStep(benchmark::State& state) {
  auto config = step_config();
  torch::set_num_threads(1);
  auto timed_transport = std::make_shared<TimedTransport>(std::make_shared<comm::MpiTransport>(*g_session));
  engine::Trainer trainer(config, torch::kCPU, timed_transport);
  engine::RandomIdentityOptions o;
  o.height = config.data().height();
  o.width = config.data().width();
  o.ids_per_batch = config.data().ids_per_batch();
  o.per_modality = config.data().images_per_modality();
  engine::RandomIdentityBatches batches(o);
  const int world = g_session->placement().world_size, rank = g_session->placement().rank;
  int64_t step = 0;
  auto shard = [&](int64_t s) {
    auto whole = batches.batch(s);
    auto mine = torch::arange(rank, whole.images.size(0), world);
    return engine::TrainBatch{whole.images.index_select(0, mine), whole.labels.index_select(0, mine),
                              whole.modality.index_select(0, mine), mine};
  };
  trainer.step(shard(step), step, 0.0);  // first-step allocations, untimed
  ++step;
  double loss_total = 0.0, step_total = 0.0;
  for (auto _ : state) {
    auto batch = shard(step);
    timed_transport->loss_seconds = 0.0;
    const double seconds = timed([&] { trainer.step(batch, step, 0.0); });
    loss_total += slowest(timed_transport->loss_seconds);
    step_total += seconds;
    state.SetIterationTime(seconds);
    ++step;
  }
  state.counters["loss_collectives_ms"] = 1e3 * loss_total / static_cast<double>(state.iterations());
  state.counters["loss_collectives_share"] = loss_total / step_total;
  state.counters["loss_collective_calls"] =
      static_cast<double>(timed_transport->loss_calls) / static_cast<double>(state.iterations() + 1);
  state.SetItemsProcessed(state.iterations() * o.ids_per_batch * o.per_modality * 2);
}
BENCHMARK(BM_TrainStep)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

class SilentReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  comm::MpiSession session;
  g_session = &session;
  engine::retain_freed_memory();  // as rfm train does by default
  bool file_output = false;  // --benchmark_out: only rank 0 may write the file
  for (int i = 1; i < argc; ++i) file_output = file_output || std::string(argv[i]).rfind("--benchmark_out=", 0) == 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Random interleaving would order the runs differently on each rank; the
  // ratios come from pairs inside each iteration instead.
  if (session.placement().rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SilentReporter silent;
    if (file_output) {
      benchmark::RunSpecifiedBenchmarks(&silent, &silent);
    } else {
      benchmark::RunSpecifiedBenchmarks(&silent);
    }
  }
  benchmark::Shutdown();
  return 0;
}
