#pragma once
// Where the job's supervisor listens, and the address the ranks are told:
// the address the ranks use, not every interface, wherever that is known.

#include <string>

namespace rfm::control {

struct ListenAddress {
  std::string bind;        // the address the supervisor listens on
  std::string advertised;  // the host the ranks and `rfm status` connect to
  std::string why;         // one line: how it was chosen
};

// `configured`: distributed.control_address ("" chooses).  `all_local`:
// every rank is known to run on this node.  Otherwise the address this
// node's name resolves to; every interface (0.0.0.0) only where the name
// resolves to a loopback address alone (the ranks on other nodes may know
// it by another address).
ListenAddress choose_listen_address(const std::string& configured, bool all_local);

}  // namespace rfm::control
