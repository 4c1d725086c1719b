#pragma once
// One rank's training batches: the sampler's plan for each step, this
// rank's shard of it, each image loaded (pack or file), flipped, padded and
// cropped, and packed into a [N, 3, H, W] uint8 tensor: a quarter of the
// bytes of float to copy to the device, where the step converts it to
// [0, 1].  Worker
// threads assemble the next `prefetch` batches while the current one
// trains; with a CUDA device the tensors are in page-locked memory so that
// the step's copy to the device is asynchronous.  A failure while
// assembling (a file that went missing, a pack checksum) surfaces from
// next() of that step, with its message.

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dataset/training_set.h"
#include "loader/batch_buffer_pool.h"
#include "loader/image_store.h"
#include "loader/train_batch.h"
#include "loader/train_transform.h"
#include "sampler/identity_batch_sampler.h"

namespace rfm::loader {

struct BatchLoaderOptions {
  int rank = 0;
  int world_size = 1;
  int threads = 2;    // 0: assemble in the caller's thread
  int prefetch = 2;   // batches assembled ahead, >= 1
  bool pin_memory = false;
  uint64_t seed = 1;  // of the flips and crops
  TrainTransformOptions transform;
};

class DistributedBatchLoader {
 public:
  DistributedBatchLoader(std::shared_ptr<const dataset::TrainingSet> set, std::shared_ptr<const ImageStore> store,
                         std::shared_ptr<const sampler::IdentityBatchSampler> sampler, const BatchLoaderOptions& options);
  ~DistributedBatchLoader();
  DistributedBatchLoader(const DistributedBatchLoader&) = delete;
  DistributedBatchLoader& operator=(const DistributedBatchLoader&) = delete;

  // Starts (or restarts) handing out batches at `step`.
  void start(int64_t step);
  // This rank's batch of the next step.
  TrainBatch next();
  int64_t next_step() const { return next_step_; }
  // The sampler's position after the batches handed out so far.
  sampler::SamplerState state() const { return sampler_->state_at_step(next_step_); }

  // Assembles one step's batch in the caller's thread (what workers run).
  TrainBatch assemble(int64_t step) const;
  const sampler::IdentityBatchSampler& sampler() const { return *sampler_; }

 private:
  void stop_workers();
  void worker();

  std::shared_ptr<const dataset::TrainingSet> set_;
  std::shared_ptr<const ImageStore> store_;
  std::shared_ptr<const sampler::IdentityBatchSampler> sampler_;
  BatchLoaderOptions options_;
  // Batch memory reused from batch to batch (page-locked batches come from
  // LibTorch's caching host allocator instead).
  std::shared_ptr<BatchBufferPool> buffers_;

  int64_t next_step_ = 0;
  // Prefetching: steps [next_step_, scheduled_) are being or have been assembled.
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t scheduled_ = 0;
  bool stopping_ = false;
  struct Ready {
    TrainBatch batch;
    std::exception_ptr error;
  };
  std::map<int64_t, Ready> ready_;
  std::vector<std::thread> workers_;
};

}  // namespace rfm::loader
