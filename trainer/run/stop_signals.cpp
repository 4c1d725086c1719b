#include "trainer/run/stop_signals.h"

#include <atomic>
#include <csignal>

namespace rfm::run {
namespace {

std::atomic<int> received{0};

extern "C" void remember_stop_signal(int signal) {
  int expected = 0;
  received.compare_exchange_strong(expected, signal);
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = remember_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and MPI calls go on
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int stop_signal_received() { return received.load(); }

void clear_stop_signal() { received.store(0); }

}  // namespace rfm::run
