#pragma once
// Proof that a control message comes from inside the job.  The launcher
// (or rank 0, under srun or plain mpirun) makes a random secret for each
// start of a job and hands it to the ranks outside any command line (the
// environment, or an MPI broadcast) and to `rfm status` (a file in the run
// directory that only its owner can read).  Every message is sealed with
// HMAC-SHA256 under that secret over its direction, its sender's sequence
// and its body; a receiver opens it only when the MAC is right and the
// sequence is past the last one it took from that sender.  So a stranger on
// the network cannot forge a message, another job's (or another start's)
// messages do not open, and a recorded one replayed is refused.  The
// messages are not encrypted: anyone on the path can read them.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "control.pb.h"

namespace rfm::control {

// The environment variable that hands the secret to the ranks.
constexpr const char* kJobSecretVariable = "RFM_JOB_SECRET";
// <run_dir>/supervisor.secret: what `rfm status` reads.
constexpr const char* kSecretFileName = "supervisor.secret";

// A secret that is missing, unreadable or malformed; the message names
// where it was looked for.
class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 32 random bytes from the operating system's generator, as 64 hex digits.
std::string make_job_secret();
// Throws SecretError naming `where` unless `secret` is 64 hex digits.
void check_job_secret(const std::string& secret, const std::string& where);
// Written as a new file readable by its owner only (mode 0600), then renamed
// over any old one.
void write_secret_file(const std::filesystem::path& file, const std::string& secret);
std::string read_secret_file(const std::filesystem::path& file);

enum class Direction { kToSupervisor, kFromSupervisor };

// One sender's side: seals each message with the next sequence.
class MessageSealer {
 public:
  MessageSealer(std::string secret, Direction direction);
  // The framed bytes to write (framing.h).
  std::string seal(const ControlMessage& message);

 private:
  std::string secret_;
  Direction direction_;
  uint64_t next_sequence_;
};

// Why a message did not open, or kOpened.
enum class OpenResult { kOpened, kMalformed, kBadProof, kReplayed };
const char* describe(OpenResult result);

// A receiver's side: checks the proof; the caller keeps the last sequence
// per sender (it knows who the sender claims to be only from the body).
class MessageOpener {
 public:
  MessageOpener(std::string secret, Direction direction);
  // kOpened and `out`, `sequence` filled when `payload` (one frame) is a
  // SignedMessage whose MAC is right and whose body parses.
  OpenResult open(const std::string& payload, ControlMessage* out, uint64_t* sequence) const;
  // For a receiver with one sender (a worker, `rfm status`: the
  // supervisor): also kReplayed unless the sequence is past
  // `*last_sequence`, which it then becomes.
  OpenResult open_next(const std::string& payload, ControlMessage* out, uint64_t* last_sequence) const;

 private:
  std::string secret_;
  Direction direction_;
};

}  // namespace rfm::control
