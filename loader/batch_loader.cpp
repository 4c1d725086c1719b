#include "loader/batch_loader.h"

#include "dataset/seeded_random.h"

namespace rfm::loader {

DistributedBatchLoader::DistributedBatchLoader(std::shared_ptr<const dataset::TrainingSet> set,
                                               std::shared_ptr<const ImageStore> store,
                                               std::shared_ptr<const sampler::IdentityBatchSampler> sampler,
                                               const BatchLoaderOptions& options)
    : set_(std::move(set)), store_(std::move(store)), sampler_(std::move(sampler)), options_(options) {
  sampler_->check_world_size(options_.world_size);
  if (options_.prefetch < 1) options_.prefetch = 1;
  // Page-locked memory only exists with a CUDA runtime.
  if (options_.pin_memory && !torch::cuda::is_available()) options_.pin_memory = false;
  // Enough for the batches being assembled, the ones waiting, and the two
  // the training step may still hold.
  buffers_ = BatchBufferPool::create(static_cast<size_t>(options_.prefetch + options_.threads + 2));
}

DistributedBatchLoader::~DistributedBatchLoader() { stop_workers(); }

void DistributedBatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  ready_.clear();
  stopping_ = false;
}

void DistributedBatchLoader::start(int64_t step) {
  stop_workers();
  next_step_ = step;
  scheduled_ = step;
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { worker(); });
}

void DistributedBatchLoader::worker() {
  while (true) {
    int64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || scheduled_ < next_step_ + options_.prefetch; });
      if (stopping_) return;
      step = scheduled_++;
    }
    Ready r;
    try {
      r.batch = assemble(step);
    } catch (...) {
      r.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(step, std::move(r));
    }
    changed_.notify_all();
  }
}

TrainBatch DistributedBatchLoader::next() {
  const int64_t step = next_step_;
  if (workers_.empty()) {
    auto batch = assemble(step);
    ++next_step_;
    return batch;
  }
  Ready r;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ready_.count(step) > 0; });
    r = std::move(ready_.at(step));
    ready_.erase(step);
    ++next_step_;
  }
  changed_.notify_all();
  if (r.error) std::rethrow_exception(r.error);
  return r.batch;
}

TrainBatch DistributedBatchLoader::assemble(int64_t step) const {
  const auto global = sampler_->at_step(step);
  const auto rows = sampler_->shard(global, options_.rank, options_.world_size);
  const auto n = static_cast<int64_t>(rows.size());
  TrainBatch batch;
  batch.step = step;
  batch.labels = torch::empty({n}, torch::kInt64);
  batch.modality = torch::empty({n}, torch::kInt64);
  batch.global_rows = torch::empty({n}, torch::kInt64);
  auto* labels = batch.labels.data_ptr<int64_t>();
  auto* modality = batch.modality.data_ptr<int64_t>();
  auto* global_rows = batch.global_rows.data_ptr<int64_t>();
  const int h = store_->height(), w = store_->width();
  batch.images = options_.pin_memory
                     ? torch::empty({n, 3, h, w}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true))
                     : buffers_->uint8_tensor({n, 3, h, w});
  const int64_t size = 3 * static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = rows[static_cast<size_t>(i)];
    store_->write_transformed(s.image, options_.transform,
                              dataset::mix64(dataset::mix64(dataset::mix64(options_.seed, 0xA06), static_cast<uint64_t>(step)),
                                          static_cast<uint64_t>(s.global_row)),
                              batch.images.data_ptr<uint8_t>() + i * size);
    labels[i] = s.label;
    modality[i] = s.modality;
    global_rows[i] = s.global_row;
  }
  return batch;
}

}  // namespace rfm::loader
