#include "comm/nccl_transport.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>
#include <stdexcept>
#include <string>

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

void check_cuda_tensor(const torch::Tensor& t, const char* what) {
  if (!t.device().is_cuda()) {
    throw std::invalid_argument(std::string("NCCL backend: ") + what + " needs a CUDA tensor, got " + t.device().str());
  }
}

// The legacy default stream: LibTorch's current stream unless changed.
constexpr cudaStream_t kStream = nullptr;

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

// One bucket's all-reduce on the side stream.  poll() asks the GPU without
// waiting; wait() makes the default stream (the optimizer's) wait for it,
// again without blocking the host.
class NcclPendingReduction final : public PendingReduction {
 public:
  NcclPendingReduction(int device_index, std::unique_ptr<CudaEvent> done)
      : device_index_(device_index), done_(std::move(done)) {}
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
    check_cuda(cudaSetDevice(device_index_), "cudaSetDevice");
    check_cuda(cudaStreamWaitEvent(kStream, done_->get(), 0), "cudaStreamWaitEvent (gradient bucket all-reduce)");
    waited_ = true;
  }

 private:
  int device_index_;
  std::unique_ptr<CudaEvent> done_;
  bool finished_ = false;
  bool waited_ = false;
};

void join_communicator(MpiTransport& bootstrap, int rank, int world_size, ncclComm_t* comm) {
  ncclUniqueId id;
  std::string bytes;
  if (rank == 0) {
    check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof(id));
  }
  bytes = bootstrap.broadcast_bytes(bytes, 0);
  if (bytes.size() != sizeof(id)) throw std::runtime_error("NCCL backend: the broadcast ncclUniqueId has the wrong size");
  std::memcpy(&id, bytes.data(), sizeof(id));
  check(ncclCommInitRank(comm, world_size, id, rank), "ncclCommInitRank");
}

}  // namespace

struct NcclTransport::Communicator {
  ncclComm_t comm = nullptr;           // the default stream's collectives
  ncclComm_t gradient_comm = nullptr;  // buckets started during backward
  cudaStream_t gradient_stream = nullptr;
};

NcclTransport::NcclTransport(MpiTransport& bootstrap, int device_index)
    : comm_(std::make_unique<Communicator>()),
      rank_(bootstrap.rank()),
      world_size_(bootstrap.world_size()),
      device_index_(device_index) {
  check_cuda(cudaSetDevice(device_index_), "cudaSetDevice");
  join_communicator(bootstrap, rank_, world_size_, &comm_->comm);
  join_communicator(bootstrap, rank_, world_size_, &comm_->gradient_comm);
  // The highest priority: a bucket's all-reduce gets SMs as soon as its
  // gradients are ready instead of queueing behind backward's kernels.
  int lowest = 0, highest = 0;
  check_cuda(cudaDeviceGetStreamPriorityRange(&lowest, &highest), "cudaDeviceGetStreamPriorityRange");
  check_cuda(cudaStreamCreateWithPriority(&comm_->gradient_stream, cudaStreamNonBlocking, highest),
             "cudaStreamCreateWithPriority");
}

NcclTransport::~NcclTransport() {
  if (!comm_) return;
  if (comm_->gradient_stream != nullptr) {
    cudaStreamSynchronize(comm_->gradient_stream);
    cudaStreamDestroy(comm_->gradient_stream);
  }
  if (comm_->gradient_comm != nullptr) ncclCommDestroy(comm_->gradient_comm);
  if (comm_->comm != nullptr) ncclCommDestroy(comm_->comm);
}

std::unique_ptr<PendingReduction> NcclTransport::start_gradient_sum(torch::Tensor& buffer) {
  check_cuda_tensor(buffer, "start_gradient_sum");
  if (!buffer.is_contiguous()) throw std::invalid_argument("NCCL backend: start_gradient_sum needs a contiguous buffer");
  // Autograd's device thread calls this from a hook: make the device
  // current there too.
  check_cuda(cudaSetDevice(device_index_), "cudaSetDevice");
  CudaEvent ready;
  check_cuda(cudaEventRecord(ready.get(), kStream), "cudaEventRecord (gradients ready)");
  check_cuda(cudaStreamWaitEvent(comm_->gradient_stream, ready.get(), 0), "cudaStreamWaitEvent (gradients ready)");
  check(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), static_cast<size_t>(buffer.numel()), nccl_type(buffer),
                      ncclSum, comm_->gradient_comm, comm_->gradient_stream),
        "ncclAllReduce (gradient bucket)");
  auto done = std::make_unique<CudaEvent>();
  check_cuda(cudaEventRecord(done->get(), comm_->gradient_stream), "cudaEventRecord (gradient bucket summed)");
  return std::make_unique<NcclPendingReduction>(device_index_, std::move(done));
}

torch::Tensor NcclTransport::all_reduce_sum(const torch::Tensor& local) {
  check_cuda_tensor(local, "all_reduce_sum");
  auto out = local.contiguous().clone();
  check(ncclAllReduce(out.data_ptr(), out.data_ptr(), static_cast<size_t>(out.numel()), nccl_type(out), ncclSum,
                      comm_->comm, kStream),
        "ncclAllReduce");
  return out;
}

std::vector<torch::Tensor> NcclTransport::all_gather(const torch::Tensor& local) {
  check_cuda_tensor(local, "all_gather");
  auto mine = local.dim() == 0 ? local.reshape({1}) : local.contiguous();
  // Row counts may differ by rank: gather the counts, pad to the largest,
  // gather the padded blocks, cut the padding off again.
  auto rows = torch::full({1}, mine.size(0), mine.options().dtype(torch::kInt64));
  auto all_rows_gpu = torch::empty({world_size_}, rows.options());
  check(ncclAllGather(rows.data_ptr(), all_rows_gpu.data_ptr(), 1, ncclInt64, comm_->comm, kStream), "ncclAllGather");
  auto all_rows = all_rows_gpu.cpu();  // synchronises: the counts size the next call
  const int64_t max_rows = all_rows.max().item<int64_t>();
  auto shape = mine.sizes().vec();
  shape[0] = max_rows;
  auto padded = torch::zeros(shape, mine.options());
  padded.narrow(0, 0, mine.size(0)).copy_(mine);
  shape.insert(shape.begin(), world_size_);
  auto gathered = torch::empty(shape, mine.options());
  check(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), static_cast<size_t>(padded.numel()), nccl_type(padded),
                      comm_->comm, kStream),
        "ncclAllGather");
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world_size_; ++r) {
    auto part = gathered[r].narrow(0, 0, all_rows[r].item<int64_t>());
    parts.push_back(local.dim() == 0 ? part.squeeze(0) : part);
  }
  return parts;
}

void NcclTransport::all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) {
  check(ncclGroupStart(), "ncclGroupStart");
  for (auto& b : buffers) {
    check_cuda_tensor(b, "all_reduce_sum_in_place");
    check(ncclAllReduce(b.data_ptr(), b.data_ptr(), static_cast<size_t>(b.numel()), nccl_type(b), ncclSum, comm_->comm,
                        kStream),
          "ncclAllReduce");
  }
  check(ncclGroupEnd(), "ncclGroupEnd");
}

void NcclTransport::broadcast_in_place(torch::Tensor& tensor, int root) {
  check_cuda_tensor(tensor, "broadcast_in_place");
  check(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), nccl_type(tensor),
                      root, comm_->comm, kStream),
        "ncclBroadcast");
}

}  // namespace rfm::comm
