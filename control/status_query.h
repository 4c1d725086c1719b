#pragma once
// `rfm status`: asks a running job's supervisor for every rank's step,
// phase and throughput.

#include <ostream>
#include <string>

#include "control.pb.h"

namespace rfm::control {

// Asks with proof of the job's `secret` (message_auth.h).  Throws
// std::runtime_error naming the address when there is no answer within
// `timeout_s`, or the answer does not carry proof of the secret.
StatusReply query_status(const std::string& address, const std::string& secret, double timeout_s = 5.0);

// A table, one line per rank.
void print_status(const StatusReply& status, std::ostream& out);

}  // namespace rfm::control
