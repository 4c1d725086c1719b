#include "metrics/tensorboard_events.h"

#include <unistd.h>

#include <boost/crc.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "tensorboard_event.pb.h"

namespace rfm::metrics {
namespace {

// CRC-32C: the Castagnoli polynomial, reflected, initial and final XOR all ones.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

template <typename T>
void append_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "localhost";
  return name.data();
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  Crc32c crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord(const std::string& payload) {
  std::string header;
  append_little_endian(header, static_cast<uint64_t>(payload.size()));
  std::string record = header;
  append_little_endian(record, masked_crc32c(header.data(), header.size()));
  record += payload;
  append_little_endian(record, masked_crc32c(payload.data(), payload.size()));
  return record;
}

EventFileWriter::EventFileWriter(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  const double now = unix_seconds();
  path_ = (fs::path(directory) / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." +
                                  host_name() + "." + std::to_string(::getpid())))
              .string();
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw std::runtime_error(path_ + ": cannot write the TensorBoard event file");
  tensorboard::Event version;
  version.set_wall_time(now);
  version.set_file_version("brain.Event:2");
  write(version);
  flush();
  if (!good_) throw std::runtime_error(path_ + ": cannot write the TensorBoard event file");
}

EventFileWriter::~EventFileWriter() {
  if (good_) out_.flush();
}

void EventFileWriter::write_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  tensorboard::Event event;
  event.set_wall_time(unix_seconds());
  event.set_step(step);
  auto* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    auto* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  write(event);
}

void EventFileWriter::write_session_start(int64_t step) {
  tensorboard::Event event;
  event.set_wall_time(unix_seconds());
  event.set_step(step);
  event.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  write(event);
}

void EventFileWriter::flush() {
  if (!good_) return;
  out_.flush();
  good_ = static_cast<bool>(out_);
}

void EventFileWriter::write(tensorboard::Event& event) {
  if (!good_) return;
  out_ << tfrecord(event.SerializeAsString());
  good_ = static_cast<bool>(out_);
}

}  // namespace rfm::metrics
