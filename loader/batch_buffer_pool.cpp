#include "loader/batch_buffer_pool.h"

#include <cstdlib>
#include <new>

namespace rfm::loader {
namespace {

constexpr size_t kAlignment = 64;  // as LibTorch's own CPU allocator

void* allocate(size_t bytes) {
  void* p = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

std::shared_ptr<BatchBufferPool> BatchBufferPool::create(size_t max_kept) {
  return std::shared_ptr<BatchBufferPool>(new BatchBufferPool(max_kept));
}

BatchBufferPool::~BatchBufferPool() {
  for (const auto& b : free_) std::free(b.memory);
}

torch::Tensor BatchBufferPool::uint8_tensor(at::IntArrayRef sizes) {
  size_t bytes = 1;
  for (const auto s : sizes) bytes *= static_cast<size_t>(s);
  void* memory = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < free_.size(); ++i) {
      if (free_[i].bytes == bytes) {
        memory = free_[i].memory;
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  if (memory == nullptr) memory = allocate(bytes);
  std::weak_ptr<BatchBufferPool> pool = weak_from_this();
  return torch::from_blob(
      memory, sizes,
      [pool, bytes](void* p) {
        if (auto alive = pool.lock()) {
          alive->give_back(p, bytes);
        } else {
          std::free(p);
        }
      },
      torch::TensorOptions().dtype(torch::kUInt8));
}

void BatchBufferPool::give_back(void* memory, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < max_kept_) {
      free_.push_back({memory, bytes});
      return;
    }
  }
  std::free(memory);
}

size_t BatchBufferPool::kept() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_.size();
}

}  // namespace rfm::loader
