// The worker's Prometheus metrics over real HTTP: the exposition after a
// step, checkpoint and evaluation holds the values recorded (labelled with
// run id and rank) and passes `promtool check metrics`; scrape-time values
// (checkpoint age) grow between scrapes; the targets file is valid file-SD
// JSON; a taken port is an error naming it; and malformed, oversized and
// slow requests leave the endpoint answering.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "metrics/metrics_endpoint.h"
#include "metrics/prometheus_targets.h"
#include "metrics/tensorboard_events.h"
#include "metrics/training_metrics.h"
#include "temp_dir.h"
#include "tensorboard_event.pb.h"

using namespace rfm::metrics;
using boost::asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Sends `request` as is and returns everything the server answers.
std::string send_raw(int port, const std::string& request) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  std::string response;
  boost::system::error_code ec;
  // The server may close before all of it is sent (it refuses a huge header).
  boost::asio::write(socket, boost::asio::buffer(request), ec);
  std::array<char, 8192> buffer{};
  for (;;) {
    const size_t n = socket.read_some(boost::asio::buffer(buffer), ec);
    response.append(buffer.data(), n);
    if (ec) break;
  }
  return response;
}

std::string get_metrics(int port) {
  const auto response = send_raw(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  const auto body = response.find("\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the one series whose name and labels contain `series`.
double value_of(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series, 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  ADD_FAILURE() << "no series " << series;
  return -1;
}

WorkerLabels labels() {
  WorkerLabels l;
  l.run_id = "unit";
  l.rank = 1;
  l.host = "node7";
  l.device = "cpu";
  l.precision = "FP32";
  l.world_size = 2;
  return l;
}

StepSample sample() {
  StepSample s;
  s.steps_done = 12;
  s.epoch = 1.5;
  s.lr = 0.03;
  s.images = 56;
  s.seconds = 0.5;
  s.data_seconds = 0.01;
  s.forward_seconds = 0.2;
  s.backward_seconds = 0.25;
  s.all_reduce_seconds = 0.03;
  s.optimizer_seconds = 0.02;
  s.losses = {{"total", 9.5},      {"id", 4.0},         {"triplet", 2.5},    {"centre", 1.0},
              {"modality_id", 0.5}, {"visible_id", 0.2}, {"infrared_id", 0.3}};
  return s;
}

}  // namespace

TEST(TrainingMetrics, ServesRecordedValuesThatPromtoolAccepts) {
  TrainingMetrics metrics(labels());
  metrics.set_total_steps(100);
  metrics.record_step(sample());
  metrics.record_step(sample());
  metrics.record_checkpoint(0.75);
  metrics.record_evaluation("SYSU-MM01 all-search single-shot", 55.5, 52.25, 38.0);
  MetricsEndpoint endpoint({"127.0.0.1", 0, 2000, 2}, metrics);
  ASSERT_GT(endpoint.port(), 0);
  const auto text = get_metrics(endpoint.port());
  const std::string who = "{rank=\"1\",run_id=\"unit\"";
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_loss" + who + ",term=\"triplet\"}"), 2.5);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_loss" + who + ",term=\"infrared_id\"}"), 0.3);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_images_per_second" + who + "}"), 112.0);  // 56 images / 0.5 s
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_samples_seen_total" + who + "}"), 112.0);  // two steps
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_step" + who + "}"), 12.0);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_total_steps" + who + "}"), 100.0);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_learning_rate" + who + "}"), 0.03);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_phase_seconds_total" + who + ",phase=\"backward\"}"), 0.5);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_step_duration_seconds_count" + who + "}"), 2.0);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_step_duration_seconds_bucket" + who + ",le=\"0.25\"}"), 0.0);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_step_duration_seconds_bucket" + who + ",le=\"0.5\"}"), 2.0);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_checkpoint_duration_seconds" + who + "}"), 0.75);
  EXPECT_DOUBLE_EQ(
      value_of(text, "rfm_evaluation_percent" + who + ",metric=\"map\",protocol=\"SYSU-MM01 all-search single-shot\"}"),
      52.25);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_non_finite_loss" + who + "}"), 0.0);
  EXPECT_GT(value_of(text, "rfm_process_resident_memory_bytes" + who + "}"), 1e6);
  const double age = value_of(text, "rfm_checkpoint_age_seconds" + who + "}");
  EXPECT_GE(age, 0.0);
  EXPECT_NE(text.find("rfm_worker_info" + who + ",device=\"cpu\",host=\"node7\",precision=\"FP32\",world_size=\"2\"} 1"),
            std::string::npos);
  EXPECT_EQ(text.find("rfm_gpu_"), std::string::npos);  // no GPU

  // The age is computed when scraped: it grows while nothing is recorded.
  std::this_thread::sleep_for(200ms);
  EXPECT_GE(value_of(get_metrics(endpoint.port()), "rfm_checkpoint_age_seconds" + who + "}"), age + 0.15);
  metrics.record_non_finite();
  EXPECT_DOUBLE_EQ(value_of(get_metrics(endpoint.port()), "rfm_non_finite_loss" + who + "}"), 1.0);

  rfm::testing::TempDir dir;
  const auto file = dir.str() + "/metrics.txt";
  std::ofstream(file) << text;
  const int rc = std::system(("promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str());
  std::ifstream out(file + ".out");
  std::stringstream said;
  said << out.rdbuf();
  EXPECT_EQ(rc, 0) << said.str();
}

// CUDA's UUID bytes as nvidia-smi and dcgm-exporter print them (8-4-4-4-12
// lower-case hex behind "GPU-").
TEST(TrainingMetrics, GpuUuidAsNvidiaSmiPrintsIt) {
  const unsigned char bytes[16] = {0x6f, 0x2b, 0x00, 0xa1, 0x93, 0x0c, 0x4e, 0xd7,
                                   0xb2, 0x11, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89};
  EXPECT_EQ(format_gpu_uuid(bytes), "GPU-6f2b00a1-930c-4ed7-b211-fe0123456789");
}

// A worker on a GPU labels its GPU series with the CUDA index and the UUID
// (the key a query joins DCGM's series on) and serves rfm_gpu_info.
TEST(TrainingMetrics, GpuSeriesCarryTheDeviceIndexAndUuid) {
  GpuDevice gpu;
  gpu.index = 3;
  gpu.uuid = "GPU-6f2b00a1-930c-4ed7-b211-fe0123456789";
  gpu.name = "NVIDIA H100 80GB HBM3";
  gpu.memory = []() -> std::optional<std::pair<double, double>> { return std::make_pair(1.5e9, 2.0e9); };
  TrainingMetrics metrics(labels(), gpu);
  MetricsEndpoint endpoint({"127.0.0.1", 0, 2000, 2}, metrics);
  const auto text = get_metrics(endpoint.port());
  const std::string gpu_labels =
      "{UUID=\"GPU-6f2b00a1-930c-4ed7-b211-fe0123456789\",cuda_device=\"3\",rank=\"1\",run_id=\"unit\"}";
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_gpu_memory_allocated_bytes" + gpu_labels), 1.5e9);
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_gpu_memory_reserved_bytes" + gpu_labels), 2.0e9);
  EXPECT_DOUBLE_EQ(value_of(text,
                            "rfm_gpu_info{rank=\"1\",run_id=\"unit\",UUID=\"GPU-6f2b00a1-930c-4ed7-b211-fe0123456789\","
                            "cuda_device=\"3\",gpu_name=\"NVIDIA H100 80GB HBM3\"}"),
                   1.0);
  // The other series keep the worker's labels only.
  EXPECT_DOUBLE_EQ(value_of(text, "rfm_step{rank=\"1\",run_id=\"unit\"}"), 0.0);
}

TEST(MetricsEndpoint, ATakenPortIsNamed) {
  TrainingMetrics metrics(labels());
  MetricsEndpoint first({"127.0.0.1", 0, 2000, 2}, metrics);
  try {
    MetricsEndpoint second({"127.0.0.1", first.port(), 2000, 2}, metrics);
    FAIL() << "a second endpoint on a taken port";
  } catch (const MetricsEndpointError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << e.what();
  }
  EXPECT_THROW(MetricsEndpoint({"127.0.0.1", 70000, 2000, 2}, metrics), MetricsEndpointError);
}

TEST(MetricsEndpoint, BadClientsLeaveItAnswering) {
  TrainingMetrics metrics(labels());
  metrics.record_step(sample());
  MetricsEndpoint endpoint({"127.0.0.1", 0, 1000, 2}, metrics);
  const int port = endpoint.port();
  // Slow clients: each sends half a request line and then nothing, holding
  // a connection open (more of them than the server has threads).
  boost::asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<tcp::socket>(io));
    slow.back()->connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    boost::asio::write(*slow.back(), boost::asio::buffer(std::string("GET /metr")));
  }
  // Garbage and an oversized header get an error answer or a closed connection.
  const auto garbage = send_raw(port, std::string("\x16\x03\x01\x02\x00 not http at all\r\n\r\n", 26));
  EXPECT_EQ(garbage.find("rfm_loss"), std::string::npos);
  const auto huge = send_raw(port, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.find("rfm_loss"), std::string::npos);
  const auto unknown = send_raw(port, "GET /nothing-here HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(unknown.rfind("HTTP/1.1 404", 0), 0u) << unknown.substr(0, 100);
  // The slow clients time out (request_timeout_ms) and a real scrape works.
  const auto start = std::chrono::steady_clock::now();
  const auto text = get_metrics(port);
  EXPECT_NE(text.find("rfm_loss{"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(PrometheusTargets, FileSdJsonWithOneGroupPerRank) {
  rfm::testing::TempDir dir;
  const auto path = targets_file(dir.str());
  write_targets_file(path, "run \"q\"", {{0, "node1:9400"}, {1, "node1:9401"}});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "[\n"
            "  {\"targets\": [\"node1:9400\"], \"labels\": {\"job\": \"rfm\", \"run_id\": \"run \\\"q\\\"\", \"rank\": \"0\"}},\n"
            "  {\"targets\": [\"node1:9401\"], \"labels\": {\"job\": \"rfm\", \"run_id\": \"run \\\"q\\\"\", \"rank\": \"1\"}}\n"
            "]\n");
  EXPECT_EQ(scrape_address("127.0.0.1", 9400), "127.0.0.1:9400");
  EXPECT_NE(scrape_address("0.0.0.0", 9400).rfind(":9400"), std::string::npos);
  EXPECT_NE(scrape_address("0.0.0.0", 9400).rfind("0.0.0.0", 0), 0u);
}

// CRC-32C's published check value, and TFRecord's mask of it worked by hand:
// 0xe3069283 rotated right by 15 bits is 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5.
TEST(TensorBoardEvents, Crc32cCheckValueAndMask) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(check.data(), check.size()), 0xe3069283u);
  EXPECT_EQ(masked_crc32c(check.data(), check.size()), 0xc78ab0e5u);
  EXPECT_EQ(crc32c("", 0), 0u);
}

// A record's bytes: the length (little-endian uint64), its masked CRC, the
// payload and the payload's masked CRC.
TEST(TensorBoardEvents, TfRecordFraming) {
  const std::string payload = "123456789";
  const std::string r = tfrecord(payload);
  ASSERT_EQ(r.size(), 8 + 4 + payload.size() + 4);
  EXPECT_EQ(r.substr(0, 8), std::string("\x09\0\0\0\0\0\0\0", 8));
  const uint32_t length_crc = masked_crc32c(r.data(), 8);
  EXPECT_EQ(r.substr(8, 4), std::string(reinterpret_cast<const char*>(&length_crc), 4));
  EXPECT_EQ(r.substr(12, payload.size()), payload);
  EXPECT_EQ(r.substr(21, 4), std::string("\xe5\xb0\x8a\xc7", 4));  // 0xc78ab0e5, little-endian
}

// The file starts with the version event; scalars and a session start
// follow as Events that parse back with their steps and values.
TEST(TensorBoardEvents, FileHoldsVersionScalarsAndSessionStart) {
  rfm::testing::TempDir dir;
  std::string path;
  {
    EventFileWriter writer(dir.str() + "/tb");
    path = writer.path();
    EXPECT_NE(path.find("/tb/events.out.tfevents."), std::string::npos) << path;
    writer.write_session_start(11);
    writer.write_scalars(12, {{"loss/total", 2.5}, {"train/lr", 0.03}});
    EXPECT_TRUE(writer.good());
  }
  std::ifstream in(path, std::ios::binary);
  std::string blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<rfm::tensorboard::Event> events;
  for (size_t at = 0; at < blob.size();) {
    uint64_t length = 0;
    std::memcpy(&length, blob.data() + at, 8);
    rfm::tensorboard::Event e;
    ASSERT_TRUE(e.ParseFromString(blob.substr(at + 12, length)));
    events.push_back(e);
    at += 16 + length;
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.7e9);
  EXPECT_EQ(events[1].step(), 11);
  EXPECT_EQ(events[1].session_log().status(), rfm::tensorboard::SessionLog::START);
  EXPECT_EQ(events[2].step(), 12);
  ASSERT_EQ(events[2].summary().value_size(), 2);
  EXPECT_EQ(events[2].summary().value(0).tag(), "loss/total");
  EXPECT_FLOAT_EQ(events[2].summary().value(0).simple_value(), 2.5f);
  EXPECT_FLOAT_EQ(events[2].summary().value(1).simple_value(), 0.03f);
}

TEST(TensorBoardEvents, AnUnwritableDirectoryIsNamed) {
  try {
    EventFileWriter writer("/proc/rfm-no-such-dir");
    FAIL() << "wrote into /proc";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/rfm-no-such-dir/events.out.tfevents."), std::string::npos) << e.what();
  }
}
