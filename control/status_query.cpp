#include "control/status_query.h"

#include <boost/asio.hpp>

#include <chrono>
#include <iomanip>
#include <stdexcept>

#include "control/framing.h"
#include "control/heartbeat_client.h"
#include "control/message_auth.h"

namespace rfm::control {

StatusReply query_status(const std::string& address, const std::string& secret, double timeout_s) {
  using boost::asio::ip::tcp;
  const auto [host, port] = split_address(address);
  boost::asio::io_context io;
  tcp::socket socket(io);
  StatusReply reply;
  std::string error;
  bool answered = false;
  tcp::resolver resolver(io);
  std::array<char, 4096> buffer{};
  FrameReader reader;
  ControlMessage request;
  request.mutable_status_request();
  const std::string bytes = MessageSealer(secret, Direction::kToSupervisor).seal(request);
  const MessageOpener opener(secret, Direction::kFromSupervisor);
  std::function<void()> read = [&] {
    socket.async_read_some(boost::asio::buffer(buffer), [&](boost::system::error_code ec, size_t n) {
      if (ec) {
        error = ec.message();
        return;
      }
      try {
        reader.append(buffer.data(), n);
        std::string payload;
        if (reader.next(&payload)) {
          ControlMessage m;
          uint64_t last_sequence = 0;
          if (const auto opened = opener.open_next(payload, &m, &last_sequence); opened != OpenResult::kOpened) {
            error = std::string("its answer does not open: ") + describe(opened) + " (another job's supervisor?)";
            return;
          }
          if (m.has_status_reply()) {
            reply = m.status_reply();
            answered = true;
            return;
          }
        }
      } catch (const FramingError& e) {
        error = e.what();
        return;
      }
      read();
    });
  };
  boost::asio::async_connect(socket, resolver.resolve(host, std::to_string(port)),
                             [&](boost::system::error_code ec, const tcp::endpoint&) {
                               if (ec) {
                                 error = ec.message();
                                 return;
                               }
                               boost::asio::write(socket, boost::asio::buffer(bytes), ec);
                               if (ec) {
                                 error = ec.message();
                                 return;
                               }
                               read();
                             });
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(timeout_s)));
  if (!answered) {
    throw std::runtime_error("no status from the supervisor at " + address + ": " +
                             (error.empty() ? "timed out" : error));
  }
  return reply;
}

void print_status(const StatusReply& status, std::ostream& out) {
  out << "job: " << status.state() << ", " << status.world_size() << " rank(s), up " << std::fixed
      << std::setprecision(0) << status.uptime_seconds() << " s";
  if (status.refused_messages() > 0) {
    out << ", " << status.refused_messages() << " control message(s) refused (no proof of the job's secret, or replayed)";
  }
  out << "\n";
  out << "rank  host             pid      step  phase        in phase  heartbeat  img/s\n";
  for (const auto& r : status.ranks()) {
    out << std::left << std::setw(6) << r.rank() << std::setw(17) << (r.host().empty() ? "-" : r.host())
        << std::setw(9) << r.pid() << std::right << std::setw(4) << r.step() << "  " << std::left << std::setw(12)
        << (r.connected() ? r.phase() : r.phase().empty() ? "(not connected)" : r.phase() + " (gone)") << std::right
        << std::setprecision(1) << std::setw(8) << r.phase_seconds() << "s" << std::setw(9)
        << r.seconds_since_heartbeat() << "s" << std::setw(7) << r.images_per_second() << "\n";
  }
}

}  // namespace rfm::control
