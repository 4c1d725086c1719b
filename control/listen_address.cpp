#include "control/listen_address.h"

#include <boost/asio.hpp>

#include "control/heartbeat_client.h"

namespace rfm::control {

ListenAddress choose_listen_address(const std::string& configured, bool all_local) {
  const std::string host = local_host_name();
  if (!configured.empty()) {
    const auto address = boost::asio::ip::make_address(configured);
    return {configured, address.is_unspecified() ? host : configured, "distributed.control_address"};
  }
  if (all_local) return {"127.0.0.1", "127.0.0.1", "every rank runs on this node: loopback only"};
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(boost::asio::ip::tcp::v4(), host, "0", ec);
  if (!ec) {
    for (const auto& entry : results) {
      const auto address = entry.endpoint().address();
      if (!address.is_loopback()) return {address.to_string(), host, "the address of this node's name, " + host};
    }
  }
  return {"0.0.0.0", host,
          host + " resolves to no address but a loopback one: every interface (set distributed.control_address to "
                 "the cluster network's address of this node to narrow it)"};
}

}  // namespace rfm::control
