#include "comm/mpi_transport.h"

#include <mpi.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace rfm::comm {
namespace {

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default: throw std::invalid_argument(std::string("MPI backend: unsupported dtype ") + c10::toString(t.scalar_type()));
  }
}

void check_cpu(const torch::Tensor& t, const char* what) {
  if (!t.device().is_cpu()) {
    throw std::invalid_argument(std::string("MPI backend: ") + what + " needs a CPU tensor, got " + t.device().str() +
                                " (use the NCCL backend for CUDA tensors)");
  }
}

void check(int code, const char* call) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(length)));
  }
}

}  // namespace

MpiTransport::MpiTransport(const MpiSession& session)
    : rank_(session.placement().rank), world_size_(session.placement().world_size) {
  if (!session.active()) throw std::logic_error("MpiTransport needs an active MpiSession (start the job with mpirun or srun)");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &gradient_comm_), "MPI_Comm_dup");
}

MpiTransport::~MpiTransport() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && gradient_comm_ != MPI_COMM_NULL) MPI_Comm_free(&gradient_comm_);
}

namespace {

class MpiPendingReduction final : public PendingReduction {
 public:
  explicit MpiPendingReduction(MPI_Request request) : request_(request) {}
  // A reduction abandoned by an exception is left to MPI_Abort: waiting here
  // could block on a rank that will never start it.
  ~MpiPendingReduction() override = default;
  bool poll() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
    return done != 0;
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
  }

 private:
  MPI_Request request_;
};

}  // namespace

std::unique_ptr<PendingReduction> MpiTransport::start_gradient_sum(torch::Tensor& buffer) {
  check_cpu(buffer, "start_gradient_sum");
  if (!buffer.is_contiguous()) throw std::invalid_argument("MPI backend: in-place all-reduce of a strided tensor");
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, buffer.data_ptr(), static_cast<int>(buffer.numel()), mpi_type(buffer), MPI_SUM,
                       gradient_comm_, &request),
        "MPI_Iallreduce");
  return std::make_unique<MpiPendingReduction>(request);
}

torch::Tensor MpiTransport::all_reduce_sum(const torch::Tensor& local) {
  check_cpu(local, "all_reduce_sum");
  auto out = local.contiguous().clone();
  check(MPI_Allreduce(MPI_IN_PLACE, out.data_ptr(), static_cast<int>(out.numel()), mpi_type(out), MPI_SUM,
                      MPI_COMM_WORLD),
        "MPI_Allreduce");
  return out;
}

std::vector<torch::Tensor> MpiTransport::all_gather(const torch::Tensor& local) {
  check_cpu(local, "all_gather");
  auto mine = local.contiguous();
  mpi_type(mine);  // rejects dtypes the other backends would not carry either
  int64_t rows = mine.dim() == 0 ? 1 : mine.size(0);
  std::vector<int64_t> all_rows(static_cast<size_t>(world_size_));
  check(MPI_Allgather(&rows, 1, MPI_INT64_T, all_rows.data(), 1, MPI_INT64_T, MPI_COMM_WORLD), "MPI_Allgather");
  const int64_t row_bytes = rows > 0 ? static_cast<int64_t>(mine.nbytes()) / rows
                                     : static_cast<int64_t>(mine.element_size()) * (mine.dim() > 1 ? mine[0].numel() : 1);
  std::vector<int> counts(static_cast<size_t>(world_size_)), displs(static_cast<size_t>(world_size_));
  int64_t total_rows = 0;
  for (int r = 0; r < world_size_; ++r) {
    const int64_t bytes = all_rows[static_cast<size_t>(r)] * row_bytes;
    if (total_rows * row_bytes + bytes > INT32_MAX) throw std::runtime_error("MPI backend: all_gather over 2 GiB");
    counts[static_cast<size_t>(r)] = static_cast<int>(bytes);
    displs[static_cast<size_t>(r)] = static_cast<int>(total_rows * row_bytes);
    total_rows += all_rows[static_cast<size_t>(r)];
  }
  std::vector<int64_t> shape = mine.sizes().vec();
  if (shape.empty()) shape.push_back(1);
  shape[0] = total_rows;
  auto all = torch::empty(shape, mine.options());
  check(MPI_Allgatherv(mine.data_ptr(), counts[static_cast<size_t>(rank_)], MPI_BYTE, all.data_ptr(), counts.data(),
                       displs.data(), MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgatherv");
  std::vector<torch::Tensor> parts;
  int64_t offset = 0;
  for (int r = 0; r < world_size_; ++r) {
    auto part = all.narrow(0, offset, all_rows[static_cast<size_t>(r)]);
    parts.push_back(local.dim() == 0 ? part.squeeze(0) : part);
    offset += all_rows[static_cast<size_t>(r)];
  }
  return parts;
}

void MpiTransport::all_reduce_sum_in_place(std::vector<torch::Tensor>& buffers) {
  // One blocking all-reduce per buffer, one after another: Open MPI's
  // blocking algorithms (tuned, shared memory) move the gradients faster
  // than its non-blocking ones (libnbc), and nothing runs beside this call
  // to overlap with (bench/results/JOURNAL.md, the gradient all-reduce).
  for (auto& buffer : buffers) {
    check_cpu(buffer, "all_reduce_sum_in_place");
    if (!buffer.is_contiguous()) throw std::invalid_argument("MPI backend: in-place all-reduce of a strided tensor");
  }
  // Buffers that follow each other in memory (the gradient buckets, slices
  // of one allocation) go as one message: one rendezvous instead of one per
  // bucket (bench/results/JOURNAL.md).
  for (size_t first = 0; first < buffers.size();) {
    const auto& head = buffers[first];
    auto* start = static_cast<char*>(head.data_ptr());
    int64_t count = head.numel();
    size_t next = first + 1;
    while (next < buffers.size() && buffers[next].scalar_type() == head.scalar_type() &&
           buffers[next].data_ptr() == start + count * head.element_size()) {
      count += buffers[next++].numel();
    }
    // MPI counts are int: a run beyond 2^31 - 1 elements goes in pieces.
    constexpr int64_t kMaxCount = std::numeric_limits<int>::max();
    for (int64_t done = 0; done < count; done += kMaxCount) {
      const auto piece = std::min(kMaxCount, count - done);
      check(MPI_Allreduce(MPI_IN_PLACE, start + done * head.element_size(), static_cast<int>(piece), mpi_type(head),
                          MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
    first = next;
  }
}

void MpiTransport::broadcast_in_place(torch::Tensor& tensor, int root) {
  check_cpu(tensor, "broadcast_in_place");
  if (!tensor.is_contiguous()) throw std::invalid_argument("MPI backend: broadcast of a strided tensor");
  check(MPI_Bcast(tensor.data_ptr(), static_cast<int>(tensor.nbytes()), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void MpiTransport::barrier() { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

std::string MpiTransport::broadcast_bytes(const std::string& bytes, int root) {
  int64_t size = static_cast<int64_t>(bytes.size());
  check(MPI_Bcast(&size, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = rank_ == root ? bytes : std::string(static_cast<size_t>(size), '\0');
  check(MPI_Bcast(out.data(), static_cast<int>(size), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

}  // namespace rfm::comm
