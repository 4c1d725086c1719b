#pragma once
// The Prometheus metrics of one training process (one rank): a registry of
// its own whose every series carries the run id and the rank, updated by the
// training loop after each step, checkpoint and evaluation, plus values
// computed when Prometheus scrapes (resident memory, checkpoint age, GPU
// memory).  metrics/ knows nothing of LibTorch: the loop hands it plain
// numbers.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace rfm::metrics {

// One finished training step as this rank saw it.
struct StepSample {
  int64_t steps_done = 0;  // steps finished in the run, this one included
  double epoch = 0.0;
  double lr = 0.0;
  int64_t images = 0;  // this rank's images in the step
  double seconds = 0.0, data_seconds = 0.0;
  double forward_seconds = 0.0, backward_seconds = 0.0, all_reduce_seconds = 0.0, optimizer_seconds = 0.0;
  // The global batch's loss terms, named and in the trainer's order
  // (trainer/loss/loss_terms.h): each is the series rfm_loss{term=name}.
  std::vector<std::pair<std::string, double>> losses;
  double loss_scale = 0.0;  // FP16 only
  bool skipped = false;     // FP16 overflow: no update
};

struct WorkerLabels {
  std::string run_id;
  int rank = 0;
  std::string host;
  std::string device;     // "cpu", "cuda:0"
  std::string precision;  // "FP32", "BF16", "FP16"
  int world_size = 1;
};

// Bytes of GPU memory (allocated, reserved) when the worker uses a GPU.
using GpuMemoryProbe = std::function<std::optional<std::pair<double, double>>()>;

// The GPU a worker computes on.  Its series carry `cuda_device` (the index
// this process sees, after CUDA_VISIBLE_DEVICES) and `UUID`, spelt as
// nvidia-smi and NVIDIA's dcgm-exporter spell it, so that a query joins
// ours with DCGM's `on(UUID)`: the UUID names the same GPU on every host
// whatever the index mapping (docs/MONITORING.md).
struct GpuDevice {
  int index = -1;        // -1: the worker has no GPU
  std::string uuid;      // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; "" when CUDA gives none
  std::string name;      // "NVIDIA H100 80GB HBM3"
  GpuMemoryProbe memory;  // empty: no memory series
};

// CUDA's 16 UUID bytes as nvidia-smi prints them.
std::string format_gpu_uuid(const unsigned char (&bytes)[16]);

class TrainingMetrics {
 public:
  explicit TrainingMetrics(const WorkerLabels& labels, GpuDevice gpu = {});

  void record_step(const StepSample& s);
  void record_checkpoint(double seconds);
  // One protocol's result (e.g. "SYSU-MM01 all-search single-shot"), in %.
  void record_evaluation(const std::string& protocol, double rank1, double map, double minp);
  // The run stopped at a non-finite loss or gradient.
  void record_non_finite();
  void set_total_steps(int64_t total);
  // How often the job was started again: by the launcher after a failure,
  // and by Slurm's requeue.
  void set_restarts(int restarts, int requeues);

  // What an exposer serves: the registry and the scrape-time values.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  std::shared_ptr<prometheus::Collectable> scrape_time_values() const;

 private:
  class ScrapeTimeValues;

  prometheus::Labels base_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeTimeValues> scrape_time_;
  prometheus::Histogram* step_duration_;
  prometheus::Gauge *images_per_second_, *lr_, *epoch_, *step_, *total_steps_, *loss_scale_, *checkpoint_seconds_,
      *non_finite_, *restarts_, *requeues_;
  prometheus::Counter *samples_, *skipped_, *checkpoints_;
  std::map<std::string, prometheus::Gauge*> phase_;
  prometheus::Family<prometheus::Gauge>* losses_;
  std::map<std::string, prometheus::Counter*> phase_total_;
  prometheus::Family<prometheus::Gauge>* evaluation_;
};

// This process's resident set size in bytes (/proc/self/statm).
double resident_memory_bytes();

}  // namespace rfm::metrics
