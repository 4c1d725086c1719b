#include "control/job_supervisor.h"

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "control/framing.h"
#include "control/message_auth.h"

namespace rfm::control {

using Clock = std::chrono::steady_clock;

// What the supervisor knows of one rank.  Outside the anonymous namespace:
// JobSupervisor::State holds them, and a type with external linkage must
// not hold one without it.
struct RankRecord {
  bool connected = false, ever_connected = false, done = false;
  uint64_t last_sequence = 0;  // of the last heartbeat taken: an older one is a replay
  Heartbeat last;
  Clock::time_point heartbeat_at, phase_since;
};

namespace {

using boost::asio::ip::tcp;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Later phases of a step are further along; used to find the rank behind.
int phase_order(const std::string& phase) {
  static const std::vector<std::string> order = {"data", "forward", "backward", "all-reduce", "optimizer", "checkpoint",
                                                 "evaluate", "done"};
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == phase) return static_cast<int>(i);
  }
  return -1;
}

std::string describe(int rank, const RankRecord& r) {
  std::ostringstream s;
  s << "rank " << rank;
  if (r.ever_connected) s << " (" << r.last.host() << " pid " << r.last.pid() << ")";
  return s.str();
}

std::string last_seen(const RankRecord& r) {
  std::ostringstream s;
  s << "last phase " << (r.last.phase().empty() ? "start" : r.last.phase()) << " at step " << r.last.step();
  return s.str();
}

}  // namespace

struct JobSupervisor::State {
  SupervisorOptions options;
  std::function<void(const std::string&)> on_failure;
  boost::asio::io_context io;
  tcp::acceptor acceptor{io};
  boost::asio::steady_timer timer{io};
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<RankRecord> ranks;
  Clock::time_point started = Clock::now();
  std::string failure;
  int failure_exit_code = 0;  // a rank's own, when its "failed" message was the failure
  std::vector<std::shared_ptr<tcp::socket>> sockets;  // touched on the io thread only
  std::atomic<size_t> open_sockets{0};
  std::unique_ptr<MessageOpener> opener;  // workers' and status clients' messages
  std::unique_ptr<MessageSealer> sealer;  // the answers (io thread only)
  uint64_t last_status_sequence = 0;
  int64_t refused = 0;                    // under `mutex`
  std::set<std::string> refused_peers;    // io thread only: each logged once

  void fail(const std::string& reason, int exit_code = 0) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure.empty()) return;
      failure = reason;
      failure_exit_code = exit_code;
    }
    // Tell every worker still connected to stop, then the owner.
    ControlMessage abort;
    abort.mutable_ack()->set_abort(true);
    abort.mutable_ack()->set_reason(reason);
    const auto bytes = sealer->seal(abort);
    for (auto& s : sockets) {
      boost::system::error_code ec;
      if (s->is_open()) boost::asio::write(*s, boost::asio::buffer(bytes), ec);
    }
    on_failure(reason);
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      sockets.push_back(s);
      open_sockets = sockets.size();
      read(s, std::make_shared<FrameReader>(), std::make_shared<int>(-1), std::make_shared<std::array<char, 4096>>());
      accept();
    });
  }

  void read(std::shared_ptr<tcp::socket> s, std::shared_ptr<FrameReader> reader, std::shared_ptr<int> rank,
            std::shared_ptr<std::array<char, 4096>> buffer) {
    s->async_read_some(boost::asio::buffer(*buffer), [=](boost::system::error_code ec, size_t n) {
      if (ec) {
        forget(s);
        closed(*rank);
        return;
      }
      OpenResult refusal = OpenResult::kOpened;
      try {
        reader->append(buffer->data(), n);
        std::string payload;
        while (refusal == OpenResult::kOpened && reader->next(&payload)) {
          ControlMessage m;
          uint64_t sequence = 0;
          refusal = opener->open(payload, &m, &sequence);
          if (refusal == OpenResult::kOpened) refusal = handle(*s, m, sequence, rank.get());
        }
      } catch (const FramingError&) {
        refusal = OpenResult::kMalformed;
      }
      if (refusal != OpenResult::kOpened) {
        refuse(*s, refusal);
        boost::system::error_code ignored;
        s->close(ignored);
        forget(s);
        closed(*rank);
        return;
      }
      read(s, reader, rank, buffer);
    });
  }

  // Counts a message that did not open, and names its peer once.
  void refuse(tcp::socket& s, OpenResult why) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++refused;
    }
    boost::system::error_code ec;
    const auto peer = s.remote_endpoint(ec);
    const std::string address = ec ? std::string("an unknown peer") : peer.address().to_string();
    if (!refused_peers.insert(address).second) return;
    const std::string line = "supervisor: refused a control message from " + address + " (" + describe(why) +
                             "); further ones from there are counted, not logged";
    if (options.log) {
      options.log(line);
    } else {
      std::cerr << "rfm: " << line << std::endl;
    }
  }

  // A message that opened under the job's secret; kReplayed when its
  // sequence is not past the last one its sender was seen with.
  OpenResult handle(tcp::socket& s, const ControlMessage& m, uint64_t sequence, int* rank) {
    ControlMessage reply;
    if (m.has_heartbeat()) {
      const auto& h = m.heartbeat();
      if (h.rank() < 0 || h.rank() >= options.world_size) return OpenResult::kOpened;
      std::unique_lock<std::mutex> lock(mutex);
      auto& r = ranks[static_cast<size_t>(h.rank())];
      if (sequence <= r.last_sequence) return OpenResult::kReplayed;
      r.last_sequence = sequence;
      *rank = h.rank();
      const bool moved = !r.ever_connected || h.phase() != r.last.phase() || h.step() != r.last.step();
      r.connected = r.ever_connected = true;
      r.heartbeat_at = Clock::now();
      if (moved) r.phase_since = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(h.phase_seconds()));
      // A rank that failed says so before it exits: its disconnect is
      // expected, and its own error is the job's.
      r.done = h.phase() == "done" || h.phase() == "failed";
      const bool new_target = !h.metrics_address().empty() && h.metrics_address() != r.last.metrics_address();
      r.last = h;
      const std::string own_failure = h.phase() != "failed"
                                          ? ""
                                          : describe(h.rank(), r) + " failed at step " + std::to_string(h.step()) +
                                                " (exit " + std::to_string(h.exit_code()) + "): " + h.error();
      if (new_target && options.on_metrics_targets) {
        std::map<int, std::string> targets;
        for (size_t k = 0; k < ranks.size(); ++k) {
          if (!ranks[k].last.metrics_address().empty()) targets[static_cast<int>(k)] = ranks[k].last.metrics_address();
        }
        options.on_metrics_targets(targets);
      }
      if (!own_failure.empty()) {
        lock.unlock();
        fail(own_failure, h.exit_code());
        lock.lock();
      }
      reply.mutable_ack()->set_abort(!failure.empty());
      reply.mutable_ack()->set_reason(failure);
    } else if (m.has_status_request()) {
      std::lock_guard<std::mutex> lock(mutex);
      if (sequence <= last_status_sequence) return OpenResult::kReplayed;
      last_status_sequence = sequence;
      *reply.mutable_status_reply() = snapshot();
    } else {
      return OpenResult::kOpened;
    }
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(sealer->seal(reply)), ec);
    return OpenResult::kOpened;
  }

  // A connection that ended (a status query answered, a rank gone) leaves
  // the list, so that a long job queried often does not collect sockets.
  void forget(const std::shared_ptr<tcp::socket>& s) {
    sockets.erase(std::remove(sockets.begin(), sockets.end(), s), sockets.end());
    open_sockets = sockets.size();
  }

  void closed(int rank) {
    if (rank < 0) return;  // a status client, or a stranger
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto& r = ranks[static_cast<size_t>(rank)];
      r.connected = false;
      if (!r.done) reason = describe(rank, r) + " disconnected (the process died?); " + last_seen(r);
    }
    if (!reason.empty()) fail(reason);
  }

  void check() {
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure.empty()) return;
      const double timeout = options.rank_timeout_s;
      int stuck_count = 0, behind = -1;
      for (int k = 0; k < options.world_size; ++k) {
        const auto& r = ranks[static_cast<size_t>(k)];
        if (r.done) continue;
        char secs[32];
        if (!r.ever_connected) {
          if (seconds_since(started) > timeout) {
            std::snprintf(secs, sizeof(secs), "%.1f", seconds_since(started));
            reason = "rank " + std::to_string(k) + " never connected to the supervisor in " + secs + " s";
            break;
          }
          continue;
        }
        if (seconds_since(r.heartbeat_at) > timeout) {
          std::snprintf(secs, sizeof(secs), "%.1f", seconds_since(r.heartbeat_at));
          reason = describe(k, r) + " sent no heartbeat for " + secs + " s (stopped or unreachable); " + last_seen(r);
          break;
        }
        if (r.last.phase() != "evaluate" && seconds_since(r.phase_since) > timeout) {
          ++stuck_count;
          const auto& b = ranks[static_cast<size_t>(std::max(behind, 0))];
          if (behind < 0 || r.last.step() < b.last.step() ||
              (r.last.step() == b.last.step() && phase_order(r.last.phase()) < phase_order(b.last.phase()))) {
            behind = k;
          }
        }
      }
      // A rank that stopped heartbeating is the cause of the others'
      // waiting, even before its silence reaches the timeout.
      if (reason.empty() && behind >= 0) {
        int silent = -1;
        double longest = timeout / 2;
        for (int k = 0; k < options.world_size; ++k) {
          const auto& r = ranks[static_cast<size_t>(k)];
          if (r.ever_connected && !r.done && seconds_since(r.heartbeat_at) > longest) {
            longest = seconds_since(r.heartbeat_at);
            silent = k;
          }
        }
        if (silent >= 0) {
          const auto& r = ranks[static_cast<size_t>(silent)];
          char secs[32];
          std::snprintf(secs, sizeof(secs), "%.1f", longest);
          reason = describe(silent, r) + " sent no heartbeat for " + secs + " s (stopped or unreachable) while " +
                   std::to_string(stuck_count) + " rank(s) wait; " + last_seen(r);
        }
      }
      if (reason.empty() && behind >= 0) {
        const auto& r = ranks[static_cast<size_t>(behind)];
        char secs[32];
        std::snprintf(secs, sizeof(secs), "%.1f", seconds_since(r.phase_since));
        reason = describe(behind, r) + " made no progress for " + secs + " s (hung); " + last_seen(r) + " (" +
                 std::to_string(stuck_count) + " rank(s) stuck)";
      }
    }
    if (!reason.empty()) fail(reason);
  }

  void tick() {
    timer.expires_after(std::chrono::milliseconds(250));
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      check();
      tick();
    });
  }

  StatusReply snapshot() const {
    StatusReply s;
    s.set_world_size(options.world_size);
    bool all_done = true;
    for (int k = 0; k < options.world_size; ++k) {
      const auto& r = ranks[static_cast<size_t>(k)];
      all_done = all_done && r.done;
      auto* out = s.add_ranks();
      out->set_rank(k);
      out->set_connected(r.connected);
      if (!r.ever_connected) continue;
      out->set_step(r.last.step());
      out->set_phase(r.last.phase());
      out->set_phase_seconds(seconds_since(r.phase_since));
      out->set_seconds_since_heartbeat(seconds_since(r.heartbeat_at));
      out->set_images_per_second(r.last.images_per_second());
      out->set_host(r.last.host());
      out->set_pid(r.last.pid());
    }
    s.set_state(!failure.empty() ? "failed: " + failure : all_done ? "finished" : "running");
    s.set_uptime_seconds(seconds_since(started));
    s.set_refused_messages(refused);
    return s;
  }
};

JobSupervisor::JobSupervisor(SupervisorOptions options, std::function<void(const std::string&)> on_failure)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  s.on_failure = std::move(on_failure);
  check_job_secret(s.options.secret, "the supervisor's job secret");
  s.opener = std::make_unique<MessageOpener>(s.options.secret, Direction::kToSupervisor);
  s.sealer = std::make_unique<MessageSealer>(s.options.secret, Direction::kFromSupervisor);
  s.ranks.resize(static_cast<size_t>(s.options.world_size));
  try {
    const tcp::endpoint endpoint(boost::asio::ip::make_address(s.options.bind_address),
                                 static_cast<unsigned short>(s.options.port));
    s.acceptor.open(endpoint.protocol());
    s.acceptor.set_option(tcp::acceptor::reuse_address(true));
    s.acceptor.bind(endpoint);
    s.acceptor.listen();
  } catch (const boost::system::system_error& e) {
    // An address of another node (distributed.control_address), a port in use.
    throw std::runtime_error("the supervisor cannot listen on " + s.options.bind_address + " port " +
                             std::to_string(s.options.port) + ": " + e.code().message());
  }
  s.accept();
  s.tick();
  s.thread = std::thread([&s] { s.io.run(); });
}

JobSupervisor::~JobSupervisor() {
  state_->io.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int JobSupervisor::port() const { return state_->acceptor.local_endpoint().port(); }

StatusReply JobSupervisor::status() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->snapshot();
}

bool JobSupervisor::finished() const { return status().state() == "finished"; }

int JobSupervisor::failure_exit_code() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->failure_exit_code;
}

size_t JobSupervisor::open_connections() const { return state_->open_sockets.load(); }

int64_t JobSupervisor::refused_messages() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->refused;
}

}  // namespace rfm::control
