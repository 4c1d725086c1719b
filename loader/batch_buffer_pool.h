#pragma once
// The memory of the loader's batch tensors, reused.  A 7 x (8 + 8) batch at
// 384x192 is 25 MB; allocated afresh for every batch it comes from a new
// mapping (or a worker thread's arena heap, which glibc unmaps whole when it
// empties), so every batch faulted its 6,000 pages in again and the kernel
// zeroed them, a large share of a loader thread's time
// (bench/results/JOURNAL.md).  Here a batch tensor's memory returns to the pool
// when the tensor's last reference dies, and the next batch of that size
// takes it.  Thread-safe; tensors may outlive the pool (their memory is then
// freed normally).

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace rfm::loader {

class BatchBufferPool : public std::enable_shared_from_this<BatchBufferPool> {
 public:
  // At most `max_kept` free buffers are kept; more are freed when given back.
  static std::shared_ptr<BatchBufferPool> create(size_t max_kept);
  ~BatchBufferPool();
  BatchBufferPool(const BatchBufferPool&) = delete;
  BatchBufferPool& operator=(const BatchBufferPool&) = delete;

  // A uint8 tensor of `sizes`, in a kept buffer of exactly its byte size
  // when there is one.  Its contents are whatever the last user left.
  torch::Tensor uint8_tensor(at::IntArrayRef sizes);

  size_t kept() const;

 private:
  explicit BatchBufferPool(size_t max_kept) : max_kept_(max_kept) {}
  void give_back(void* memory, size_t bytes);

  struct Buffer {
    void* memory;
    size_t bytes;
  };
  mutable std::mutex mutex_;
  std::vector<Buffer> free_;
  size_t max_kept_;
};

}  // namespace rfm::loader
