#include "metrics/training_metrics.h"

#include <unistd.h>

#include <fstream>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

namespace rfm::metrics {

double resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0.0;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Values that only mean something at the moment of the scrape: a hung run's
// checkpoint age must keep growing although no step updates it.
class TrainingMetrics::ScrapeTimeValues : public prometheus::Collectable {
 public:
  ScrapeTimeValues(prometheus::Labels base, prometheus::Labels gpu_labels, GpuMemoryProbe gpu)
      : base_(std::move(base)), gpu_labels_(std::move(gpu_labels)), gpu_(std::move(gpu)) {}

  void checkpoint_written() {
    std::lock_guard<std::mutex> lock(mutex_);
    last_checkpoint_ = std::chrono::steady_clock::now();
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(gauge("rfm_process_resident_memory_bytes", "Resident set size of this worker process.",
                        resident_memory_bytes()));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (last_checkpoint_) {
        out.push_back(gauge("rfm_checkpoint_age_seconds", "Seconds since this run last wrote a checkpoint.",
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - *last_checkpoint_)
                                .count()));
      }
    }
    if (gpu_) {
      if (const auto memory = gpu_()) {
        out.push_back(gauge("rfm_gpu_memory_allocated_bytes", "GPU memory held by tensors of this worker.",
                            memory->first, gpu_labels_));
        out.push_back(gauge("rfm_gpu_memory_reserved_bytes", "GPU memory reserved by this worker's allocator.",
                            memory->second, gpu_labels_));
      }
    }
    return out;
  }

 private:
  prometheus::MetricFamily gauge(const std::string& name, const std::string& help, double value,
                                 const prometheus::Labels& extra = {}) const {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    prometheus::Labels labels = base_;
    labels.insert(extra.begin(), extra.end());
    for (const auto& [k, v] : labels) metric.label.push_back({k, v});
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
    return family;
  }

  prometheus::Labels base_, gpu_labels_;
  GpuMemoryProbe gpu_;
  mutable std::mutex mutex_;
  std::optional<std::chrono::steady_clock::time_point> last_checkpoint_;
};

namespace {

// Step times from 5 ms (a small model on a GPU) to 2 minutes (ResNet-50 at
// 384x192 on a few CPU cores).
const prometheus::Histogram::BucketBoundaries kStepBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                                                              2.5,   5.0,  10.0,  30.0, 60.0, 120.0};

// The labels that name a worker's GPU: none without one.
prometheus::Labels gpu_labels(const GpuDevice& gpu) {
  if (gpu.index < 0) return {};
  prometheus::Labels labels{{"cuda_device", std::to_string(gpu.index)}};
  if (!gpu.uuid.empty()) labels["UUID"] = gpu.uuid;
  return labels;
}

}  // namespace

std::string format_gpu_uuid(const unsigned char (&bytes)[16]) {
  static const char* const kHex = "0123456789abcdef";
  std::string out = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

TrainingMetrics::TrainingMetrics(const WorkerLabels& labels, GpuDevice gpu)
    : base_{{"run_id", labels.run_id}, {"rank", std::to_string(labels.rank)}},
      registry_(std::make_shared<prometheus::Registry>()),
      scrape_time_(std::make_shared<ScrapeTimeValues>(base_, gpu_labels(gpu), std::move(gpu.memory))) {
  auto& r = *registry_;
  auto gauge = [&](const std::string& name, const std::string& help) -> prometheus::Gauge& {
    return prometheus::BuildGauge().Name(name).Help(help).Labels(base_).Register(r).Add({});
  };
  auto counter = [&](const std::string& name, const std::string& help) -> prometheus::Counter& {
    return prometheus::BuildCounter().Name(name).Help(help).Labels(base_).Register(r).Add({});
  };
  prometheus::BuildGauge()
      .Name("rfm_worker_info")
      .Help("Where and how this worker runs (always 1).")
      .Labels(base_)
      .Register(r)
      .Add({{"host", labels.host},
            {"device", labels.device},
            {"precision", labels.precision},
            {"world_size", std::to_string(labels.world_size)}})
      .Set(1);
  if (gpu.index >= 0) {
    auto info = gpu_labels(gpu);
    info["gpu_name"] = gpu.name;
    prometheus::BuildGauge()
        .Name("rfm_gpu_info")
        .Help("The GPU this worker computes on (always 1): join DCGM's series on UUID.")
        .Labels(base_)
        .Register(r)
        .Add(info)
        .Set(1);
  }
  step_duration_ = &prometheus::BuildHistogram()
                        .Name("rfm_step_duration_seconds")
                        .Help("Duration of a training step on this rank (without the wait for its batch).")
                        .Labels(base_)
                        .Register(r)
                        .Add({}, kStepBuckets);
  images_per_second_ = &gauge("rfm_images_per_second", "This rank's images per second in its last step.");
  lr_ = &gauge("rfm_learning_rate", "Learning rate of the last step (the head's; the backbone may use a multiple).");
  epoch_ = &gauge("rfm_epoch", "Fractional epoch at the start of the last step.");
  step_ = &gauge("rfm_step", "Training steps finished in this run.");
  total_steps_ = &gauge("rfm_total_steps", "Training steps the run is configured for.");
  loss_scale_ = &gauge("rfm_loss_scale", "FP16 dynamic loss scale of the last step (0 without FP16).");
  checkpoint_seconds_ = &gauge("rfm_checkpoint_duration_seconds", "Duration of the last checkpoint write.");
  non_finite_ = &gauge("rfm_non_finite_loss", "1 once the run stopped at a non-finite loss or gradient.");
  restarts_ = &gauge("rfm_job_restarts",
                     "Times `rfm launch --max-restarts` started this job again after a failure, before this run.");
  requeues_ = &gauge("rfm_job_requeues", "Times Slurm requeued this job (SLURM_RESTART_COUNT), before this run.");
  samples_ = &counter("rfm_samples_seen_total", "Training images this rank has processed.");
  skipped_ = &counter("rfm_steps_skipped_total", "FP16 steps skipped because their gradients overflowed.");
  checkpoints_ = &counter("rfm_checkpoints_written_total", "Checkpoints this rank has written.");
  auto& phases = prometheus::BuildGauge()
                     .Name("rfm_phase_seconds")
                     .Help("Time of each phase of the last step (data: the wait for the batch).")
                     .Labels(base_)
                     .Register(r);
  auto& phase_totals = prometheus::BuildCounter()
                           .Name("rfm_phase_seconds_total")
                           .Help("Time spent in each phase of the training steps so far.")
                           .Labels(base_)
                           .Register(r);
  for (const char* p : {"data", "forward", "backward", "all_reduce", "optimizer"}) {
    phase_[p] = &phases.Add({{"phase", p}});
    phase_total_[p] = &phase_totals.Add({{"phase", p}});
  }
  losses_ = &prometheus::BuildGauge()
                     .Name("rfm_loss")
                     .Help("Loss terms of the last step's global batch (Eq. 9; centre before lambda).")
                     .Labels(base_)
                     .Register(r);
  evaluation_ = &prometheus::BuildGauge()
                     .Name("rfm_evaluation_percent")
                     .Help("Last evaluation's Rank-1, mAP and mINP in percent, per protocol.")
                     .Labels(base_)
                     .Register(r);
}

void TrainingMetrics::record_step(const StepSample& s) {
  step_duration_->Observe(s.seconds);
  if (s.seconds > 0) images_per_second_->Set(static_cast<double>(s.images) / s.seconds);
  lr_->Set(s.lr);
  epoch_->Set(s.epoch);
  step_->Set(static_cast<double>(s.steps_done));
  loss_scale_->Set(s.loss_scale);
  samples_->Increment(static_cast<double>(s.images));
  if (s.skipped) skipped_->Increment();
  const std::pair<const char*, double> phases[] = {{"data", s.data_seconds},
                                                   {"forward", s.forward_seconds},
                                                   {"backward", s.backward_seconds},
                                                   {"all_reduce", s.all_reduce_seconds},
                                                   {"optimizer", s.optimizer_seconds}};
  for (const auto& [name, seconds] : phases) {
    phase_[name]->Set(seconds);
    if (seconds > 0) phase_total_[name]->Increment(seconds);
  }
  // Add() returns the series already there after the first step.
  for (const auto& [name, value] : s.losses) losses_->Add({{"term", name}}).Set(value);
}

void TrainingMetrics::record_checkpoint(double seconds) {
  checkpoint_seconds_->Set(seconds);
  checkpoints_->Increment();
  scrape_time_->checkpoint_written();
}

void TrainingMetrics::record_evaluation(const std::string& protocol, double rank1, double map, double minp) {
  evaluation_->Add({{"protocol", protocol}, {"metric", "rank1"}}).Set(rank1);
  evaluation_->Add({{"protocol", protocol}, {"metric", "map"}}).Set(map);
  evaluation_->Add({{"protocol", protocol}, {"metric", "minp"}}).Set(minp);
}

std::shared_ptr<prometheus::Collectable> TrainingMetrics::scrape_time_values() const { return scrape_time_; }

void TrainingMetrics::record_non_finite() { non_finite_->Set(1); }

void TrainingMetrics::set_restarts(int restarts, int requeues) {
  restarts_->Set(restarts);
  requeues_->Set(requeues);
}

void TrainingMetrics::set_total_steps(int64_t total) { total_steps_->Set(static_cast<double>(total)); }

}  // namespace rfm::metrics
