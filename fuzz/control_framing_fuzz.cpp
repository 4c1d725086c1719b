// The control plane's input (control/framing.h, control/message_auth.h): a
// TCP stream anyone on the network can write to, fed to the reader in
// pieces of every size as TCP may deliver them, each frame opened as the
// supervisor opens it.  A stranger's bytes must not open; and a body sealed
// under the job's secret must open to the same message.

#include <cstdint>
#include <cstdlib>

#include "control/framing.h"
#include "control/message_auth.h"

namespace {

const std::string kSecret(64, 'a');

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rfm::control;
  if (size == 0) return 0;
  const MessageOpener opener(kSecret, Direction::kToSupervisor);
  const size_t piece = 1 + data[0] % 16;
  FrameReader reader;
  try {
    for (size_t at = 1; at < size; at += piece) {
      reader.append(reinterpret_cast<const char*>(data + at), std::min(piece, size - at));
      std::string payload;
      while (reader.next(&payload)) {
        ControlMessage message;
        uint64_t sequence = 0;
        // Forging a MAC is what a fuzzer cannot do: a frame that opens is a defect.
        if (opener.open(payload, &message, &sequence) == OpenResult::kOpened) std::abort();
        // The frame's bytes as a message's body, sealed by a member of the job:
        // it opens, to the same message.
        ControlMessage body;
        if (!body.ParseFromString(payload)) continue;
        MessageSealer sealer(kSecret, Direction::kToSupervisor);
        FrameReader sealed;
        const std::string bytes = sealer.seal(body);
        sealed.append(bytes.data(), bytes.size());
        std::string again;
        if (!sealed.next(&again) || opener.open(again, &message, &sequence) != OpenResult::kOpened ||
            message.SerializeAsString() != body.SerializeAsString()) {
          std::abort();
        }
      }
    }
  } catch (const FramingError&) {
    // The stream is refused: the supervisor closes the connection.
  }
  return 0;
}
