// The control plane in one process: framing, the job secret's seals, and
// the supervisor's verdicts against heartbeat clients and raw sockets that
// behave like dead, stopped or hung ranks, or like strangers on the network.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/asio.hpp>

#include <array>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "control/framing.h"
#include "control/heartbeat_client.h"
#include "control/job_supervisor.h"
#include "control/listen_address.h"
#include "control/message_auth.h"
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

// This test program's job secret.
const std::string& secret() {
  static const std::string s = make_job_secret();
  return s;
}

SupervisorOptions options(int world, double timeout) {
  SupervisorOptions o;
  o.world_size = world;
  o.rank_timeout_s = timeout;
  o.bind_address = "127.0.0.1";
  o.secret = secret();
  return o;
}

HeartbeatOptions client(int port, int rank, int world) {
  HeartbeatOptions o;
  o.address = local(port);
  o.secret = secret();
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
  const std::string stream = frame(a.SerializeAsString()) + frame(b.SerializeAsString());
  EXPECT_EQ(static_cast<uint8_t>(stream[0]) & 0x80, 0x80);
  FrameReader reader;
  std::vector<ControlMessage> got;
  for (char c : stream) {
    reader.append(&c, 1);
    std::string payload;
    while (reader.next(&payload)) {
      got.emplace_back();
      ASSERT_TRUE(got.back().ParseFromString(payload));
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].heartbeat().rank(), 3);
  EXPECT_EQ(got[0].heartbeat().phase().size(), 300u);
  EXPECT_TRUE(got[1].has_status_request());

  FrameReader huge;
  const std::string too_long = "\xff\xff\xff\x7f";  // 268 MB announced
  huge.append(too_long.data(), too_long.size());
  std::string payload;
  EXPECT_THROW(huge.next(&payload), FramingError);
  // A peer that sends bytes and never a whole frame is cut off.
  FrameReader endless;
  const std::string prefix = "\x80\x80\x40";  // 1 MiB announced
  endless.append(prefix.data(), prefix.size());
  const std::string chunk(4096, 'x');
  EXPECT_THROW(for (int i = 0; i < 300; ++i) endless.append(chunk.data(), chunk.size()), FramingError);
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
  const auto status = query_status(local(supervisor.port()), secret());
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
  for (int q = 0; q < 20; ++q) query_status(local(supervisor.port()), secret());
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
  EXPECT_EQ(query_status(local(supervisor.port()), secret()).state().rfind("failed: rank 1", 0), 0u);
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
  EXPECT_EQ(query_status(local(supervisor.port()), secret()).state().rfind("failed: rank 1", 0), 0u);
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
  boost::asio::write(socket, boost::asio::buffer(MessageSealer(secret(), Direction::kToSupervisor).seal(m)));
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

TEST(MessageAuth, OpensOnlyWhatTheJobsSecretSealedForThatDirection) {
  const std::string other = make_job_secret();
  EXPECT_NE(other, secret());
  EXPECT_EQ(secret().size(), 64u);
  EXPECT_NO_THROW(check_job_secret(secret(), "here"));
  EXPECT_THROW(check_job_secret("abc", "here"), SecretError);
  EXPECT_THROW(check_job_secret(std::string(64, 'g'), "here"), SecretError);

  ControlMessage m;
  m.mutable_heartbeat()->set_rank(1);
  m.mutable_heartbeat()->set_metrics_address("node1:19400");
  MessageSealer sealer(secret(), Direction::kToSupervisor);
  auto payload_of = [](const std::string& framed) {
    FrameReader reader;
    reader.append(framed.data(), framed.size());
    std::string payload;
    EXPECT_TRUE(reader.next(&payload));
    return payload;
  };
  const std::string first = payload_of(sealer.seal(m)), second = payload_of(sealer.seal(m));
  const MessageOpener opener(secret(), Direction::kToSupervisor);
  ControlMessage out;
  uint64_t s1 = 0, s2 = 0;
  ASSERT_EQ(opener.open(first, &out, &s1), OpenResult::kOpened);
  EXPECT_EQ(out.heartbeat().metrics_address(), "node1:19400");
  ASSERT_EQ(opener.open(second, &out, &s2), OpenResult::kOpened);
  EXPECT_EQ(s2, s1 + 1);  // the sequence counts on: the receiver refuses one it has seen pass

  // Another job's secret, the other direction, a changed body or sequence, a bare message: refused.
  EXPECT_EQ(MessageOpener(other, Direction::kToSupervisor).open(first, &out, &s1), OpenResult::kBadProof);
  EXPECT_EQ(MessageOpener(secret(), Direction::kFromSupervisor).open(first, &out, &s1), OpenResult::kBadProof);
  SignedMessage tampered;
  ASSERT_TRUE(tampered.ParseFromString(first));
  ControlMessage body;
  ASSERT_TRUE(body.ParseFromString(tampered.body()));
  body.mutable_heartbeat()->set_metrics_address("evil:6666");
  tampered.set_body(body.SerializeAsString());
  EXPECT_EQ(opener.open(tampered.SerializeAsString(), &out, &s1), OpenResult::kBadProof);
  ASSERT_TRUE(tampered.ParseFromString(first));
  tampered.set_sequence(tampered.sequence() + 1000);
  EXPECT_EQ(opener.open(tampered.SerializeAsString(), &out, &s1), OpenResult::kBadProof);
  EXPECT_NE(opener.open(m.SerializeAsString(), &out, &s1), OpenResult::kOpened);
  EXPECT_EQ(opener.open("\xff\xff garbage", &out, &s1), OpenResult::kMalformed);
}

TEST(MessageAuth, TheSecretFileIsTheOwnersAlone) {
  const auto dir = std::filesystem::temp_directory_path() / ("rfm-secret-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / kSecretFileName;
  write_secret_file(file, secret());
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(read_secret_file(file), secret());
  const std::string next = make_job_secret();
  write_secret_file(file, next);  // the next start's replaces it
  EXPECT_EQ(read_secret_file(file), next);
  std::filesystem::remove(file);
  try {
    read_secret_file(file);
    ADD_FAILURE() << "a missing secret file was read";
  } catch (const SecretError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(file.string() + ": cannot read", 0), 0u) << e.what();
  }
  std::ofstream(file) << "not a secret\n";
  EXPECT_THROW(read_secret_file(file), SecretError);
  std::filesystem::remove_all(dir);
}

// Strangers on the network: a heartbeat without the secret, one sealed with
// another job's, and a recorded one replayed are all refused and counted;
// the job carries on, and no refused message reaches a rank's record or the
// Prometheus targets.
TEST(Supervisor, RefusesForgedAndReplayedMessagesAndCountsThem) {
  Verdict verdict;
  std::mutex targets_mutex;
  std::vector<std::map<int, std::string>> targets_written;
  std::vector<std::string> log;
  auto o = options(2, 30);
  o.on_metrics_targets = [&](const std::map<int, std::string>& t) {
    std::lock_guard<std::mutex> lock(targets_mutex);
    targets_written.push_back(t);
  };
  o.log = [&](const std::string& line) { log.push_back(line); };
  JobSupervisor supervisor(o, [&](const std::string& r) { verdict.set(r); });
  // Recorded, not failed at once: when the test ends, the raw rank 1 closes
  // before r0 and the supervisor rightly calls that a disconnect.
  Verdict told;
  HeartbeatClient r0(client(supervisor.port(), 0, 2), [&](const std::string& r) { told.set(r); });
  r0.set_metrics_address("node0:19400");

  boost::asio::io_context io;
  auto connect = [&] {
    auto s = std::make_unique<boost::asio::ip::tcp::socket>(io);
    s->connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(supervisor.port())});
    return s;
  };
  // Whether the supervisor closed the connection (it does after a refusal).
  auto closed_by_supervisor = [](boost::asio::ip::tcp::socket& s) {
    std::array<char, 4096> buffer{};
    boost::system::error_code ec;
    for (int i = 0; i < 50; ++i) {
      s.read_some(boost::asio::buffer(buffer), ec);
      if (ec) return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
    }
    return false;
  };
  ControlMessage forged;
  auto* h = forged.mutable_heartbeat();
  h->set_rank(1);
  h->set_step(99);
  h->set_phase("forward");
  h->set_host("stranger");
  h->set_metrics_address("stranger:6666");

  // 1. No secret at all: a bare ControlMessage, as before the job had one.
  auto bare = connect();
  boost::asio::write(*bare, boost::asio::buffer(frame(forged.SerializeAsString())));
  EXPECT_TRUE(closed_by_supervisor(*bare));
  // 2. Sealed under another job's secret.
  auto other_job = connect();
  boost::asio::write(*other_job,
                     boost::asio::buffer(MessageSealer(make_job_secret(), Direction::kToSupervisor).seal(forged)));
  EXPECT_TRUE(closed_by_supervisor(*other_job));
  // 3. Rank 1's own heartbeat, recorded on the wire and replayed on a connection of the stranger's.
  ControlMessage real;
  real.mutable_heartbeat()->set_rank(1);
  real.mutable_heartbeat()->set_step(4);
  real.mutable_heartbeat()->set_phase("data");
  real.mutable_heartbeat()->set_host("node1");
  real.mutable_heartbeat()->set_metrics_address("node1:19400");
  const std::string recorded = MessageSealer(secret(), Direction::kToSupervisor).seal(real);
  auto rank1 = connect();
  boost::asio::write(*rank1, boost::asio::buffer(recorded));
  std::array<char, 4096> answer{};
  rank1->read_some(boost::asio::buffer(answer));  // taken and answered
  auto replay = connect();
  boost::asio::write(*replay, boost::asio::buffer(recorded));
  EXPECT_TRUE(closed_by_supervisor(*replay));
  // 4. A status request replayed: answered once, refused the second time.
  ControlMessage ask;
  ask.mutable_status_request();
  const std::string asked = MessageSealer(secret(), Direction::kToSupervisor).seal(ask);
  auto first_ask = connect();
  boost::asio::write(*first_ask, boost::asio::buffer(asked));
  EXPECT_GT(first_ask->read_some(boost::asio::buffer(answer)), 0u);
  auto second_ask = connect();
  boost::asio::write(*second_ask, boost::asio::buffer(asked));
  EXPECT_TRUE(closed_by_supervisor(*second_ask));
  // A status client with the wrong secret is refused, and says so.
  EXPECT_THROW(query_status(local(supervisor.port()), make_job_secret()), std::runtime_error);

  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(supervisor.refused_messages(), 5);
  const auto status = query_status(local(supervisor.port()), secret());
  EXPECT_EQ(status.refused_messages(), 5);
  EXPECT_EQ(status.state(), "running");  // the job carries on
  EXPECT_EQ(verdict.wait(10ms), "");
  EXPECT_EQ(told.wait(0ms), "");
  EXPECT_EQ(status.ranks(1).host(), "node1");
  EXPECT_EQ(status.ranks(1).step(), 4);
  std::ostringstream table;
  print_status(status, table);
  EXPECT_NE(table.str().find("5 control message(s) refused"), std::string::npos) << table.str();
  {
    std::lock_guard<std::mutex> lock(targets_mutex);
    ASSERT_FALSE(targets_written.empty());
    for (const auto& t : targets_written) {
      for (const auto& [rank, address] : t) EXPECT_EQ(address.find("stranger"), std::string::npos) << address;
    }
    EXPECT_EQ(targets_written.back().at(1), "node1:19400");
  }
  // Every refusal came from 127.0.0.1: its address is logged once.
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("refused a control message from 127.0.0.1"), std::string::npos) << log[0];
}

TEST(Supervisor, AWorkerWithAnotherJobsSecretIsRefusedAndLosesTheSupervisor) {
  Verdict verdict;
  JobSupervisor supervisor(options(1, 30), [&](const std::string& r) { verdict.set(r); });
  auto wrong = client(supervisor.port(), 0, 1);
  wrong.secret = make_job_secret();
  Verdict told;
  HeartbeatClient stranger(wrong, [&](const std::string& r) { told.set(r); });
  EXPECT_NE(told.wait(5s).find("lost the supervisor"), std::string::npos);
  EXPECT_GE(supervisor.refused_messages(), 1);
  EXPECT_EQ(supervisor.status().ranks(0).connected(), false);
}

TEST(Supervisor, AnAddressItCannotListenOnIsNamed) {
  auto o = options(1, 30);
  o.bind_address = "192.0.2.1";  // TEST-NET-1: no interface of this machine has it
  try {
    JobSupervisor supervisor(o, [](const std::string&) {});
    ADD_FAILURE() << "listening on 192.0.2.1 succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("the supervisor cannot listen on 192.0.2.1 port 0: ", 0), 0u) << e.what();
  }
}

TEST(ListenAddress, LoopbackWhenEveryRankIsLocalElseTheNodesAddress) {
  const auto local_only = choose_listen_address("", true);
  EXPECT_EQ(local_only.bind, "127.0.0.1");
  EXPECT_EQ(local_only.advertised, "127.0.0.1");
  const auto configured = choose_listen_address("10.1.2.3", false);
  EXPECT_EQ(configured.bind, "10.1.2.3");
  EXPECT_EQ(configured.advertised, "10.1.2.3");
  EXPECT_EQ(choose_listen_address("0.0.0.0", true).advertised, local_host_name());
  const auto spread = choose_listen_address("", false);
  EXPECT_EQ(spread.advertised, local_host_name());
  // The node's own address, or every interface where its name resolves to loopback alone.
  EXPECT_TRUE(spread.bind == "0.0.0.0" || boost::asio::ip::make_address(spread.bind).is_loopback() == false)
      << spread.bind;
}
