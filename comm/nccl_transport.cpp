#include "comm/nccl_transport.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace rfm::comm {
namespace {

void check(ncclResult_t result, const char* call) {
  if (result != ncclSuccess) throw std::runtime_error(std::string(call) + " failed: " + ncclGetErrorString(result));
}

void check_cuda(cudaError_t result, const char* call) {
  if (result != cudaSuccess) throw std::runtime_error(std::string(call) + " failed: " + cudaGetErrorString(result));
}

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kFloat16: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default: throw std::invalid_argument(std::string("NCCL backend: unsupported dtype ") + c10::toString(t.scalar_type()));
  }
}

// An event recorded when its work is queued; destroyed with its owner (CUDA
// releases it once the work it marks has run).
class CudaEvent {
 public:
  CudaEvent() { check_cuda(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreateWithFlags"); }
  ~CudaEvent() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

void join_communicator(const std::function<std::string(const std::string&)>& broadcast_from_rank0, int rank,
                       int world_size, ncclComm_t* comm) {
  ncclUniqueId id;
  std::string bytes;
  if (rank == 0) {
    check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof(id));
  }
  bytes = broadcast_from_rank0(bytes);
  if (bytes.size() != sizeof(id)) throw std::runtime_error("NCCL backend: the broadcast ncclUniqueId has the wrong size");
  std::memcpy(&id, bytes.data(), sizeof(id));
  check(ncclCommInitRank(comm, world_size, id, rank), "ncclCommInitRank");
}

}  // namespace

struct NcclTransport::State {
  NcclOptions options;
  int rank = 0;
  c10::DeviceIndex device = 0;
  ncclComm_t comm = nullptr;           // the current stream's collectives
  ncclComm_t gradient_comm = nullptr;  // buckets started during backward
  std::optional<c10::cuda::CUDAStream> gradient_stream;
  torch::Tensor barrier_buffer;
  // Set once both communicators are aborted; `failure` says why.
  std::atomic<bool> aborted{false};
  std::mutex abort_mutex;
  std::string failure;
  std::mutex watchdog_mutex;
  std::condition_variable watchdog_wake;
  bool stopping = false;
  std::thread watchdog;

  c10::cuda::CUDAStream current_stream() const { return c10::cuda::getCurrentCUDAStream(device); }

  // The first asynchronous error of either communicator; empty when none
  // (or when they are aborted already: their handles are freed then).
  std::string async_error() {
    std::lock_guard<std::mutex> lock(abort_mutex);
    if (aborted) return {};
    const std::pair<ncclComm_t, const char*> comms[] = {{comm, "collectives"}, {gradient_comm, "gradient buckets"}};
    for (const auto& [c, name] : comms) {
      if (c == nullptr) continue;
      ncclResult_t state = ncclSuccess;
      const ncclResult_t asked = ncclCommGetAsyncError(c, &state);
      if (asked != ncclSuccess) return std::string("ncclCommGetAsyncError failed: ") + ncclGetErrorString(asked);
      if (state != ncclSuccess && state != ncclInProgress) {
        return std::string("the ") + name + " communicator: " + ncclGetErrorString(state) + " (" + ncclGetLastError(c) +
               ")";
      }
    }
    return {};
  }

  // Aborts both communicators once: every NCCL call and kernel of this rank
  // that waits on a peer returns.  After it the handles are freed.
  void abort_communicators(const std::string& why) {
    std::lock_guard<std::mutex> lock(abort_mutex);
    if (aborted) return;
    failure = why;
    if (gradient_comm != nullptr) ncclCommAbort(gradient_comm);
    if (comm != nullptr) ncclCommAbort(comm);
    aborted = true;
  }

  void throw_if_aborted(const char* what) const {
    if (aborted) throw std::runtime_error(std::string("NCCL backend: ") + what + ": the communicators were aborted (" + failure + ")");
  }

  std::string failure_line() const {
    return "rfm: rank " + std::to_string(rank) + ": NCCL failed on cuda:" + std::to_string(device) + ": " + failure +
           "; communicators aborted";
  }

  // What ProcessGroupNCCL's watchdog does: poll, abort, report.
  void watch() {
    const auto interval = std::chrono::duration<double>(options.watchdog_interval_s);
    std::unique_lock<std::mutex> lock(watchdog_mutex);
    while (!stopping) {
      watchdog_wake.wait_for(lock, interval);
      if (stopping) return;
      lock.unlock();
      const std::string error = async_error();
      if (!error.empty()) {
        abort_communicators(error);
        if (options.on_failure) {
          options.on_failure(failure_line());
        } else {
          std::cerr << failure_line() << std::endl;
          std::_Exit(6);
        }
        return;
      }
      lock.lock();
    }
  }

  // Polls `event` until its work ran.  Returns false at the deadline
  // (timeout_s < 0: none); throws when a communicator fails meanwhile.
  bool wait_for(cudaEvent_t event, double timeout_s, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t state = cudaEventQuery(event);
      if (state == cudaSuccess) return true;
      if (state != cudaErrorNotReady) check_cuda(state, what);
      throw_if_aborted(what);
      const std::string error = async_error();
      if (!error.empty()) {
        abort_communicators(error);
        throw_if_aborted(what);
      }
      if (timeout_s >= 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
};

namespace {

// One bucket's all-reduce on the side stream.  poll() asks the GPU without
// waiting; wait() makes the current stream (the optimizer's) wait for it,
// again without blocking the host.
class NcclPendingReduction final : public PendingReduction {
 public:
  NcclPendingReduction(c10::DeviceIndex device, std::unique_ptr<CudaEvent> done)
      : device_(device), done_(std::move(done)) {}
  bool poll() override {
    if (finished_) return true;
    const cudaError_t state = cudaEventQuery(done_->get());
    if (state == cudaErrorNotReady) return false;
    check_cuda(state, "cudaEventQuery (gradient bucket all-reduce)");
    finished_ = true;
    return true;
  }
  void wait() override {
    if (waited_) return;
    c10::cuda::CUDAGuard guard(device_);
    check_cuda(cudaStreamWaitEvent(c10::cuda::getCurrentCUDAStream(device_).stream(), done_->get(), 0),
               "cudaStreamWaitEvent (gradient bucket all-reduce)");
    waited_ = true;
  }

 private:
  c10::DeviceIndex device_;
  std::unique_ptr<CudaEvent> done_;
  bool finished_ = false;
  bool waited_ = false;
};

void check_on_device(const torch::Tensor& t, c10::DeviceIndex device, const char* what) {
  if (!t.device().is_cuda() || t.device().index() != device) {
    throw std::invalid_argument(std::string("NCCL backend: ") + what + " needs a tensor on cuda:" +
                                std::to_string(device) + ", got " + t.device().str());
  }
}

}  // namespace

NcclTransport::NcclTransport(MpiTransport& bootstrap, NcclOptions options)
    : NcclTransport(bootstrap.rank(), bootstrap.world_size(),
                    [&bootstrap](const std::string& bytes) { return bootstrap.broadcast_bytes(bytes, 0); },
                    std::move(options)) {}

std::shared_ptr<NcclTransport> NcclTransport::alone(NcclOptions options) {
  return std::shared_ptr<NcclTransport>(
      new NcclTransport(0, 1, [](const std::string& bytes) { return bytes; }, std::move(options)));
}

NcclTransport::NcclTransport(int rank, int world_size,
                             const std::function<std::string(const std::string&)>& broadcast_from_rank0,
                             NcclOptions options)
    : state_(std::make_unique<State>()), rank_(rank), world_size_(world_size) {
  auto& s = *state_;
  s.options = std::move(options);
  s.rank = rank_;
  s.device = static_cast<c10::DeviceIndex>(s.options.device_index);
  c10::cuda::CUDAGuard guard(s.device);
  join_communicator(broadcast_from_rank0, rank_, world_size_, &s.comm);
  join_communicator(broadcast_from_rank0, rank_, world_size_, &s.gradient_comm);
  // The highest priority: a bucket's all-reduce gets SMs as soon as its
  // gradients are ready instead of queueing behind backward's kernels.
  s.gradient_stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/true, s.device);
  s.barrier_buffer = torch::zeros({1}, torch::TensorOptions(torch::kFloat32).device(torch::kCUDA, s.device));
  s.watchdog = std::thread([&s] { s.watch(); });
}

NcclTransport::~NcclTransport() {
  auto& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.watchdog_mutex);
    s.stopping = true;
  }
  s.watchdog_wake.notify_all();
  if (s.watchdog.joinable()) s.watchdog.join();
  if (s.aborted) return;
  // Destroy once everything queued has run; a peer that is gone would keep
  // it queued (and ncclCommDestroy waiting) for ever: abort instead.
  try {
    c10::cuda::CUDAGuard guard(s.device);
    CudaEvent current, side;
    check_cuda(cudaEventRecord(current.get(), s.current_stream().stream()), "cudaEventRecord");
    check_cuda(cudaEventRecord(side.get(), s.gradient_stream->stream()), "cudaEventRecord");
    const bool drained = s.wait_for(current.get(), s.options.destroy_timeout_s, "draining the streams") &&
                         s.wait_for(side.get(), s.options.destroy_timeout_s, "draining the streams");
    if (!drained) {
      s.abort_communicators("queued collectives did not finish in " + std::to_string(s.options.destroy_timeout_s) + " s");
      std::cerr << s.failure_line() << std::endl;
      return;
    }
  } catch (const std::exception& e) {
    s.abort_communicators(e.what());
    return;
  }
  ncclCommDestroy(s.gradient_comm);
  ncclCommDestroy(s.comm);
}

std::unique_ptr<PendingReduction> NcclTransport::start_gradient_sum(torch::Tensor& buffer) {
  auto& s = *state_;
  check_on_device(buffer, s.device, "start_gradient_sum");
  if (!buffer.is_contiguous()) throw std::invalid_argument("NCCL backend: start_gradient_sum needs a contiguous buffer");
  s.throw_if_aborted("start_gradient_sum");
  // Autograd's device thread calls this from a hook: the guard makes this
  // rank's GPU current there too.
  c10::cuda::CUDAGuard guard(s.device);
  const cudaStream_t side = s.gradient_stream->stream();
  CudaEvent ready;
  check_cuda(cudaEventRecord(ready.get(), s.current_stream().stream()), "cudaEventRecord (gradients ready)");
  check_cuda(cudaStreamWaitEvent(side, ready.get(), 0), "cudaStreamWaitEvent (gradients ready)");
  // The caching allocator must not hand the buffer out again before the
  // side stream is done with it.
  c10::cuda::CUDACachingAllocator::recordStream(buffer.storage().data_ptr(), *s.gradient_stream);
  check(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), static_cast<size_t>(buffer.numel()), nccl_type(buffer),
                      ncclSum, s.gradient_comm, side),
        "ncclAllReduce (gradient bucket)");
  auto done = std::make_unique<CudaEvent>();
  check_cuda(cudaEventRecord(done->get(), side), "cudaEventRecord (gradient bucket summed)");
  return std::make_unique<NcclPendingReduction>(s.device, std::move(done));
}

torch::Tensor NcclTransport::all_reduce_sum(const torch::Tensor& local) {
  auto& s = *state_;
  check_on_device(local, s.device, "all_reduce_sum");
  s.throw_if_aborted("all_reduce_sum");
  c10::cuda::CUDAGuard guard(s.device);
  auto out = local.contiguous().clone();
  check(ncclAllReduce(out.data_ptr(), out.data_ptr(), static_cast<size_t>(out.numel()), nccl_type(out), ncclSum, s.comm,
                      s.current_stream().stream()),
        "ncclAllReduce");
  return out;
}

std::vector<torch::Tensor> NcclTransport::all_gather(const torch::Tensor& local) {
  auto& s = *state_;
  check_on_device(local, s.device, "all_gather");
  s.throw_if_aborted("all_gather");
  c10::cuda::CUDAGuard guard(s.device);
  const cudaStream_t stream = s.current_stream().stream();
  auto mine = local.dim() == 0 ? local.reshape({1}) : local.contiguous();
  // Row counts may differ by rank: gather the counts, pad to the largest,
  // gather the padded blocks, cut the padding off again.
  auto rows = torch::full({1}, mine.size(0), mine.options().dtype(torch::kInt64));
  auto all_rows_gpu = torch::empty({world_size_}, rows.options());
  check(ncclAllGather(rows.data_ptr(), all_rows_gpu.data_ptr(), 1, ncclInt64, s.comm, stream), "ncclAllGather");
  // The one host synchronisation here: the counts size the next call.
  auto all_rows = all_rows_gpu.cpu();
  const int64_t* counts = all_rows.data_ptr<int64_t>();
  const int64_t max_rows = *std::max_element(counts, counts + world_size_);
  auto shape = mine.sizes().vec();
  shape[0] = max_rows;
  auto padded = max_rows == mine.size(0) ? mine : torch::zeros(shape, mine.options());
  if (max_rows != mine.size(0)) padded.narrow(0, 0, mine.size(0)).copy_(mine);
  shape.insert(shape.begin(), world_size_);
  auto gathered = torch::empty(shape, mine.options());
  check(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), static_cast<size_t>(padded.numel()), nccl_type(padded),
                      s.comm, stream),
        "ncclAllGather");
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world_size_; ++r) {
    auto part = gathered[r].narrow(0, 0, counts[r]);
    parts.push_back(local.dim() == 0 ? part.squeeze(0) : part);
  }
  return parts;
}

void NcclTransport::all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) {
  auto& s = *state_;
  s.throw_if_aborted("all_reduce_sum_in_place");
  for (auto& b : buffers) check_on_device(b, s.device, "all_reduce_sum_in_place");
  c10::cuda::CUDAGuard guard(s.device);
  const cudaStream_t stream = s.current_stream().stream();
  check(ncclGroupStart(), "ncclGroupStart");
  for (auto& b : buffers) {
    check(ncclAllReduce(b.data_ptr(), b.data_ptr(), static_cast<size_t>(b.numel()), nccl_type(b), ncclSum, s.comm,
                        stream),
          "ncclAllReduce");
  }
  check(ncclGroupEnd(), "ncclGroupEnd");
}

void NcclTransport::broadcast_in_place(torch::Tensor& tensor, int root) {
  auto& s = *state_;
  check_on_device(tensor, s.device, "broadcast_in_place");
  s.throw_if_aborted("broadcast_in_place");
  c10::cuda::CUDAGuard guard(s.device);
  check(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), nccl_type(tensor),
                      root, s.comm, s.current_stream().stream()),
        "ncclBroadcast");
}

void NcclTransport::barrier() {
  auto& s = *state_;
  s.throw_if_aborted("barrier");
  c10::cuda::CUDAGuard guard(s.device);
  const cudaStream_t stream = s.current_stream().stream();
  check(ncclAllReduce(s.barrier_buffer.data_ptr(), s.barrier_buffer.data_ptr(), 1, ncclFloat32, ncclSum, s.comm, stream),
        "ncclAllReduce (barrier)");
  CudaEvent reached;
  check_cuda(cudaEventRecord(reached.get(), stream), "cudaEventRecord (barrier)");
  // As long as the slowest rank takes (rank 0's evaluation): no deadline.
  // A peer that dies is the watchdog's, or the supervisor's, to report.
  s.wait_for(reached.get(), -1.0, "barrier");
}

}  // namespace rfm::comm
