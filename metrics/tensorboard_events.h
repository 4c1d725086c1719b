#pragma once
// TensorBoard event files written with our protobuf: Event messages
// (proto/tensorboard_event.proto, TensorFlow's published schema) framed as
// TFRecords, each record
//   uint64 length | uint32 masked CRC32C of the length | data | uint32 masked CRC32C of the data
// little-endian, the CRC32C (Castagnoli) from Boost.CRC.  `tensorboard
// --logdir runs/` reads them.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace rfm::tensorboard {
class Event;
}

namespace rfm::metrics {

// CRC-32C of `size` bytes, and TFRecord's mask of it: rotated right by 15
// bits plus 0xa282ead8, so that a CRC over data holding CRCs stays strong.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// `payload` framed as one TFRecord.
std::string tfrecord(const std::string& payload);

// One scalar of a step: a tag ("loss/total", "eval/SYSU-MM01 all-search
// single-shot/mAP") and its value.
using Scalar = std::pair<std::string, double>;

class EventFileWriter {
 public:
  // Creates `directory` and a new file events.out.tfevents.<unix seconds>.
  // <host>.<pid> in it (TensorBoard reads every file of a directory as one
  // run), starting with the file-version event.  std::runtime_error naming
  // the file when it cannot be written.
  explicit EventFileWriter(const std::string& directory);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  const std::string& path() const { return path_; }

  // One event holding every scalar, at `step`.
  void write_scalars(int64_t step, const std::vector<Scalar>& scalars);
  // The run starts (again) at `step`: after a resume TensorBoard drops what
  // earlier files logged from this step on, so no step shows twice.
  void write_session_start(int64_t step);
  // Flushed to the file: TensorBoard sees everything written so far.
  void flush();
  // False once a write failed (a full disk, say); later writes are dropped.
  bool good() const { return good_; }

 private:
  void write(tensorboard::Event& event);

  std::string path_;
  std::ofstream out_;
  bool good_ = true;
};

}  // namespace rfm::metrics
