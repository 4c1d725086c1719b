#include "control/heartbeat_client.h"

#include <unistd.h>

#include <boost/asio.hpp>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "control/framing.h"
#include "control/message_auth.h"

namespace rfm::control {
namespace {

using boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

}  // namespace

std::string local_host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

std::pair<std::string, int> split_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::invalid_argument("'" + address + "' is not host:port");
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + address + "' is not host:port");
  }
  if (port <= 0 || port > 65535) throw std::invalid_argument("'" + address + "': port out of range");
  return {address.substr(0, colon), port};
}

struct HeartbeatClient::State {
  HeartbeatOptions options;
  std::function<void(const std::string&)> on_lost;
  boost::asio::io_context io;
  tcp::socket socket{io};
  boost::asio::steady_timer timer{io};
  std::thread thread;
  std::mutex mutex;
  int64_t step = 0;
  std::string phase = "start";
  Clock::time_point phase_since = Clock::now();
  Clock::time_point last_answer = Clock::now();
  double images_per_second = 0;
  std::string metrics_address;
  int exit_code = 0;
  std::string error;
  bool finished = false, lost = false;
  std::array<char, 4096> buffer{};
  FrameReader reader;
  std::string host = local_host_name();
  std::unique_ptr<MessageSealer> sealer;  // the client's thread only
  std::unique_ptr<MessageOpener> opener;
  uint64_t last_answer_sequence = 0;

  void lose(const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (lost || finished) return;
      lost = true;
    }
    on_lost(reason);
  }

  std::string heartbeat() {
    ControlMessage m;
    auto* h = m.mutable_heartbeat();
    std::lock_guard<std::mutex> lock(mutex);
    h->set_rank(options.rank);
    h->set_world_size(options.world_size);
    h->set_step(step);
    h->set_phase(phase);
    h->set_unix_time(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    h->set_phase_seconds(std::chrono::duration<double>(Clock::now() - phase_since).count());
    h->set_images_per_second(images_per_second);
    h->set_host(host);
    h->set_pid(static_cast<int32_t>(::getpid()));
    h->set_metrics_address(metrics_address);
    h->set_exit_code(exit_code);
    h->set_error(error);
    return sealer->seal(m);
  }

  void send() {
    boost::system::error_code ec;
    boost::asio::write(socket, boost::asio::buffer(heartbeat()), ec);
    if (ec) lose("lost the supervisor at " + options.address + " (" + ec.message() + ")");
  }

  void tick() {
    timer.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.interval_s)));
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      double silent;
      {
        std::lock_guard<std::mutex> lock(mutex);
        silent = std::chrono::duration<double>(Clock::now() - last_answer).count();
      }
      if (silent > options.timeout_s) {
        lose("the supervisor at " + options.address + " has not answered for " + std::to_string(silent) + " s");
        return;
      }
      send();
      tick();
    });
  }

  void read() {
    socket.async_read_some(boost::asio::buffer(buffer), [this](boost::system::error_code ec, size_t n) {
      if (ec) {
        lose("lost the supervisor at " + options.address + " (" + ec.message() + ")");
        return;
      }
      try {
        reader.append(buffer.data(), n);
        std::string payload;
        while (reader.next(&payload)) {
          ControlMessage m;
          if (const auto opened = opener->open_next(payload, &m, &last_answer_sequence); opened != OpenResult::kOpened) {
            lose("the supervisor at " + options.address + " sent a message that does not open: " + describe(opened) +
                 " (another job's supervisor on that port?)");
            return;
          }
          if (!m.has_ack()) continue;
          {
            std::lock_guard<std::mutex> lock(mutex);
            last_answer = Clock::now();
          }
          if (m.ack().abort()) {
            lose("the supervisor aborts the job: " + m.ack().reason());
            return;
          }
        }
      } catch (const FramingError& e) {
        lose(std::string("the supervisor's stream is corrupt: ") + e.what());
        return;
      }
      read();
    });
  }
};

HeartbeatClient::HeartbeatClient(HeartbeatOptions options, std::function<void(const std::string&)> on_lost)
    : state_(std::make_shared<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  s.on_lost = std::move(on_lost);
  check_job_secret(s.options.secret, kJobSecretVariable);
  s.sealer = std::make_unique<MessageSealer>(s.options.secret, Direction::kToSupervisor);
  s.opener = std::make_unique<MessageOpener>(s.options.secret, Direction::kFromSupervisor);
  const auto [host, port] = split_address(s.options.address);
  // The supervisor may still be starting: retry the connection for the timeout.
  tcp::resolver resolver(s.io);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(s.options.timeout_s));
  boost::system::error_code ec;
  for (;;) {
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) boost::asio::connect(s.socket, endpoints, ec);
    if (!ec) break;
    if (Clock::now() > deadline) {
      throw std::runtime_error("cannot reach the supervisor at " + s.options.address + ": " + ec.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  s.socket.set_option(tcp::no_delay(true));
  s.last_answer = Clock::now();
  s.send();
  s.read();
  s.tick();
  s.thread = std::thread([state = state_] { state->io.run(); });
}

HeartbeatClient::~HeartbeatClient() {
  state_->io.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

void HeartbeatClient::update(int64_t step, const std::string& phase) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (phase != state_->phase || step != state_->step) state_->phase_since = Clock::now();
  state_->step = step;
  state_->phase = phase;
}

void HeartbeatClient::set_images_per_second(double value) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->images_per_second = value;
}

void HeartbeatClient::set_metrics_address(const std::string& address) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->metrics_address = address;
}

void HeartbeatClient::finish() { say_last("done"); }

void HeartbeatClient::fail(int exit_code, const std::string& error) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->exit_code = exit_code;
    state_->error = error;
  }
  say_last("failed");
}

void HeartbeatClient::say_last(const std::string& phase) {
  int64_t step;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    step = state_->step;
  }
  update(step, phase);
  auto state = state_;
  // On the client's own thread: the socket is not thread-safe.
  boost::asio::post(state->io, [state] {
    state->send();
    std::lock_guard<std::mutex> lock(state->mutex);
    state->finished = true;
  });
  // Wait until the message is out (bounded: a dead supervisor must not block exit).
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      if (state->finished || state->lost) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  state->io.stop();
  if (state->thread.joinable()) state->thread.join();
}

}  // namespace rfm::control
