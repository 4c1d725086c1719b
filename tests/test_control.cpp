// The control plane in one process: framing, and the supervisor's verdicts
// against heartbeat clients and raw sockets that behave like dead, stopped
// or hung ranks.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "control/framing.h"
#include "control/heartbeat_client.h"
#include "control/job_supervisor.h"
#include "control/status_query.h"

using namespace rfm::control;
using namespace std::chrono_literals;

namespace {

// Collects the supervisor's verdict.
struct Verdict {
  std::mutex mutex;
  std::condition_variable changed;
  std::string reason;
  void set(const std::string& r) {
    std::lock_guard<std::mutex> lock(mutex);
    reason = r;
    changed.notify_all();
  }
  std::string wait(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, limit, [&] { return !reason.empty(); });
    return reason;
  }
};

std::string local(int port) { return "127.0.0.1:" + std::to_string(port); }

SupervisorOptions options(int world, double timeout) {
  SupervisorOptions o;
  o.world_size = world;
  o.rank_timeout_s = timeout;
  o.bind_address = "127.0.0.1";
  return o;
}

HeartbeatOptions client(int port, int rank, int world) {
  HeartbeatOptions o;
  o.address = local(port);
  o.rank = rank;
  o.world_size = world;
  o.interval_s = 0.05;
  o.timeout_s = 5;
  return o;
}

}  // namespace

TEST(Framing, RoundTripsByteByByteAndRejectsGarbage) {
  ControlMessage a, b;
  a.mutable_heartbeat()->set_rank(3);
  a.mutable_heartbeat()->set_phase(std::string(300, 'x'));  // a two-byte length prefix
  b.mutable_status_request();
  const std::string stream = frame(a) + frame(b);
  EXPECT_EQ(static_cast<uint8_t>(stream[0]) & 0x80, 0x80);
  FrameReader reader;
  std::vector<ControlMessage> got;
  for (char c : stream) {
    reader.append(&c, 1);
    ControlMessage m;
    while (reader.next(&m)) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].heartbeat().rank(), 3);
  EXPECT_EQ(got[0].heartbeat().phase().size(), 300u);
  EXPECT_TRUE(got[1].has_status_request());

  FrameReader huge;
  const std::string too_long = "\xff\xff\xff\x7f";  // 268 MB announced
  huge.append(too_long.data(), too_long.size());
  ControlMessage m;
  EXPECT_THROW(huge.next(&m), FramingError);
  EXPECT_THROW(split_address("nohost"), std::invalid_argument);
  EXPECT_EQ(split_address("node7:9400"), (std::pair<std::string, int>("node7", 9400)));
}

TEST(Supervisor, StatusShowsEveryRankAndFinishedRanksMayLeave) {
  Verdict verdict;
  JobSupervisor supervisor(options(2, 5), [&](const std::string& r) { verdict.set(r); });
  auto lost = [](const std::string& r) { FAIL() << r; };
  HeartbeatClient r0(client(supervisor.port(), 0, 2), lost), r1(client(supervisor.port(), 1, 2), lost);
  r0.update(12, "backward");
  r1.update(12, "all-reduce");
  r1.set_images_per_second(42.5);
  std::this_thread::sleep_for(300ms);
  const auto status = query_status(local(supervisor.port()));
  EXPECT_EQ(status.state(), "running");
  ASSERT_EQ(status.ranks_size(), 2);
  EXPECT_EQ(status.ranks(0).phase(), "backward");
  EXPECT_EQ(status.ranks(1).step(), 12);
  EXPECT_EQ(status.ranks(1).phase(), "all-reduce");
  EXPECT_DOUBLE_EQ(status.ranks(1).images_per_second(), 42.5);
  EXPECT_TRUE(status.ranks(1).connected());
  std::ostringstream table;
  print_status(status, table);
  EXPECT_NE(table.str().find("all-reduce"), std::string::npos);
  // Answered status clients leave: only the two ranks stay connected.
  for (int q = 0; q < 20; ++q) query_status(local(supervisor.port()));
  auto wait_for_connections = [&](size_t n) {
    for (int i = 0; i < 200 && supervisor.open_connections() != n; ++i) std::this_thread::sleep_for(10ms);
    return supervisor.open_connections();
  };
  EXPECT_EQ(wait_for_connections(2), 2u);
  r0.finish();
  r1.finish();
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(supervisor.finished());
  EXPECT_EQ(verdict.wait(10ms), "");
}

TEST(Supervisor, NamesARankThatDisconnects) {
  Verdict verdict;
  JobSupervisor supervisor(options(2, 30), [&](const std::string& r) { verdict.set(r); });
  auto lost = [](const std::string&) {};
  HeartbeatClient r0(client(supervisor.port(), 0, 2), lost);
  {
    HeartbeatClient r1(client(supervisor.port(), 1, 2), lost);
    r1.update(7, "forward");
    std::this_thread::sleep_for(200ms);
  }  // gone without "done": like a killed process, whose socket the kernel closes
  const auto reason = verdict.wait(5s);
  EXPECT_NE(reason.find("rank 1"), std::string::npos) << reason;
  EXPECT_NE(reason.find("disconnected"), std::string::npos) << reason;
  EXPECT_NE(reason.find("forward at step 7"), std::string::npos) << reason;
  EXPECT_EQ(query_status(local(supervisor.port())).state().rfind("failed: rank 1", 0), 0u);
}

TEST(Supervisor, ARankThatFailsNamesItsOwnErrorAndExitCode) {
  Verdict verdict;
  JobSupervisor supervisor(options(2, 30), [&](const std::string& r) { verdict.set(r); });
  Verdict told;
  HeartbeatClient r0(client(supervisor.port(), 0, 2), [&](const std::string& r) { told.set(r); });
  {
    HeartbeatClient r1(client(supervisor.port(), 1, 2), [](const std::string&) {});
    r1.update(5, "data");
    std::this_thread::sleep_for(200ms);
    r1.fail(4, "sampler: the checkpoint's batch shape is 8x2, this run's is 2x1");
  }  // and then it exits: the disconnect that follows is not the failure
  const auto reason = verdict.wait(5s);
  EXPECT_EQ(reason.rfind("rank 1 (", 0), 0u) << reason;
  EXPECT_NE(reason.find("failed at step 5 (exit 4): sampler: the checkpoint's batch shape is 8x2"), std::string::npos)
      << reason;
  EXPECT_EQ(reason.find("disconnected"), std::string::npos) << reason;
  EXPECT_EQ(supervisor.failure_exit_code(), 4);
  // The other rank is told to stop.
  EXPECT_NE(told.wait(5s).find("rank 1"), std::string::npos);
  EXPECT_EQ(query_status(local(supervisor.port())).state().rfind("failed: rank 1", 0), 0u);
}

TEST(Supervisor, ADisconnectHasNoExitCodeOfItsOwn) {
  Verdict verdict;
  JobSupervisor supervisor(options(1, 30), [&](const std::string& r) { verdict.set(r); });
  {
    HeartbeatClient r0(client(supervisor.port(), 0, 1), [](const std::string&) {});
    r0.update(1, "forward");
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(verdict.wait(5s).find("disconnected"), std::string::npos);
  EXPECT_EQ(supervisor.failure_exit_code(), 0);
}

TEST(Supervisor, NamesASilentRankAndAbortsTheOthers) {
  Verdict verdict;
  JobSupervisor supervisor(options(2, 0.6), [&](const std::string& r) { verdict.set(r); });
  Verdict told;
  HeartbeatClient r0(client(supervisor.port(), 0, 2), [&](const std::string& r) { told.set(r); });
  // Rank 1 says one thing and then nothing, with its socket open: a
  // SIGSTOPped process.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(supervisor.port())});
  ControlMessage m;
  m.mutable_heartbeat()->set_rank(1);
  m.mutable_heartbeat()->set_step(3);
  m.mutable_heartbeat()->set_phase("data");
  m.mutable_heartbeat()->set_host("node9");
  m.mutable_heartbeat()->set_pid(4242);
  boost::asio::write(socket, boost::asio::buffer(frame(m)));
  const auto reason = verdict.wait(10s);
  EXPECT_EQ(reason.rfind("rank 1 (node9 pid 4242) sent no heartbeat", 0), 0u) << reason;
  EXPECT_NE(reason.find("data at step 3"), std::string::npos) << reason;
  // The healthy rank is told to stop too.
  EXPECT_NE(told.wait(5s).find("the supervisor aborts the job: rank 1"), std::string::npos);
}

TEST(Supervisor, NamesTheHungRankThatIsBehind) {
  Verdict verdict;
  JobSupervisor supervisor(options(2, 0.5), [&](const std::string& r) { verdict.set(r); });
  auto lost = [](const std::string&) {};
  HeartbeatClient r0(client(supervisor.port(), 0, 2), lost), r1(client(supervisor.port(), 1, 2), lost);
  // Both keep heartbeating; rank 0 waits in the all-reduce of step 9 for
  // rank 1, which never gets past its data.
  r0.update(9, "all-reduce");
  r1.update(9, "data");
  const auto reason = verdict.wait(10s);
  EXPECT_EQ(reason.rfind("rank 1 ", 0), 0u) << reason;
  EXPECT_NE(reason.find("made no progress"), std::string::npos) << reason;
  EXPECT_NE(reason.find("data at step 9"), std::string::npos) << reason;
}

TEST(Supervisor, NamesARankThatNeverConnects) {
  Verdict verdict;
  JobSupervisor supervisor(options(3, 0.4), [&](const std::string& r) { verdict.set(r); });
  auto lost = [](const std::string&) {};
  HeartbeatClient r0(client(supervisor.port(), 0, 3), lost), r2(client(supervisor.port(), 2, 3), lost);
  const auto reason = verdict.wait(10s);
  EXPECT_EQ(reason.rfind("rank 1 never connected", 0), 0u) << reason;
}

// The rank that hosts the supervisor (rank 0 under srun) dies: every other
// rank learns it has lost the supervisor (and exits 6), none waits forever.
TEST(Supervisor, RanksLearnThatTheirSupervisorDied) {
  auto supervisor = std::make_unique<JobSupervisor>(options(2, 30), [](const std::string&) {});
  const int port = supervisor->port();
  Verdict told;
  HeartbeatClient r1(client(port, 1, 2), [&](const std::string& r) { told.set(r); });
  std::this_thread::sleep_for(200ms);  // connected, heartbeating
  EXPECT_TRUE(told.wait(0ms).empty());
  supervisor.reset();
  const auto reason = told.wait(10s);
  EXPECT_EQ(reason.rfind("lost the supervisor at " + local(port), 0), 0u) << reason;
}
