#include "control/message_auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "control/framing.h"

namespace rfm::control {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kMacBytes = 32;

std::string mac_of(const std::string& secret, Direction direction, uint64_t sequence, const std::string& body) {
  // The direction keeps a supervisor's answer from being replayed to it as
  // a worker's message; the sequence, little-endian, binds the count.
  std::string input = direction == Direction::kToSupervisor ? "rfm-control to-supervisor\n" : "rfm-control from-supervisor\n";
  for (int i = 0; i < 8; ++i) input.push_back(static_cast<char>((sequence >> (8 * i)) & 0xff));
  input += body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size) == nullptr ||
      size != kMacBytes) {
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  }
  return std::string(reinterpret_cast<const char*>(mac), size);
}

uint64_t microseconds_now() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

std::string make_job_secret() {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw SecretError("cannot make a job secret: no random bytes (OpenSSL)");
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (const unsigned char b : bytes) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

void check_job_secret(const std::string& secret, const std::string& where) {
  if (secret.size() != 2 * kSecretBytes ||
      secret.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    throw SecretError(where + ": not a job secret (64 hex digits)");
  }
}

void write_secret_file(const std::filesystem::path& file, const std::string& secret) {
  const std::string tmp = file.string() + ".tmp";
  ::unlink(tmp.c_str());
  // O_EXCL and mode 0600 at creation: the secret is never readable by others,
  // not even for a moment.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw SecretError(tmp + ": cannot create (" + std::strerror(errno) + ")");
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw SecretError(file.string() + ": cannot write (" + std::strerror(errno) + ")");
  }
}

std::string read_secret_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string secret;
  if (!in) throw SecretError(file.string() + ": cannot read the job's secret (is its job running, and yours?)");
  in >> secret;
  check_job_secret(secret, file.string());
  return secret;
}

MessageSealer::MessageSealer(std::string secret, Direction direction)
    : secret_(std::move(secret)), direction_(direction), next_sequence_(microseconds_now()) {}

std::string MessageSealer::seal(const ControlMessage& message) {
  SignedMessage signed_message;
  signed_message.set_body(message.SerializeAsString());
  signed_message.set_sequence(next_sequence_++);
  signed_message.set_mac(mac_of(secret_, direction_, signed_message.sequence(), signed_message.body()));
  return frame(signed_message.SerializeAsString());
}

const char* describe(OpenResult result) {
  switch (result) {
    case OpenResult::kOpened: return "opened";
    case OpenResult::kMalformed: return "not a signed control message";
    case OpenResult::kBadProof: return "no proof of the job's secret";
    case OpenResult::kReplayed: return "a replay (a sequence already seen)";
  }
  return "?";
}

MessageOpener::MessageOpener(std::string secret, Direction direction)
    : secret_(std::move(secret)), direction_(direction) {}

OpenResult MessageOpener::open(const std::string& payload, ControlMessage* out, uint64_t* sequence) const {
  SignedMessage signed_message;
  if (!signed_message.ParseFromString(payload)) return OpenResult::kMalformed;
  const std::string expected = mac_of(secret_, direction_, signed_message.sequence(), signed_message.body());
  if (signed_message.mac().size() != expected.size() ||
      CRYPTO_memcmp(signed_message.mac().data(), expected.data(), expected.size()) != 0) {
    return OpenResult::kBadProof;
  }
  if (!out->ParseFromString(signed_message.body())) return OpenResult::kMalformed;
  *sequence = signed_message.sequence();
  return OpenResult::kOpened;
}

OpenResult MessageOpener::open_next(const std::string& payload, ControlMessage* out, uint64_t* last_sequence) const {
  uint64_t sequence = 0;
  const OpenResult opened = open(payload, out, &sequence);
  if (opened != OpenResult::kOpened) return opened;
  if (sequence <= *last_sequence) return OpenResult::kReplayed;
  *last_sequence = sequence;
  return OpenResult::kOpened;
}

}  // namespace rfm::control
