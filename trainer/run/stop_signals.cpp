#include "trainer/run/stop_signals.h"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

namespace rfm::run {
namespace {

std::atomic<int> received{0};

void remember(int signal) {
  int expected = 0;
  received.compare_exchange_strong(expected, signal);
}

extern "C" void remember_stop_signal(int signal) { remember(signal); }

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

void start_stop_signal_watcher() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = remember_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // blocking reads and MPI calls go on
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGUSR1, &action, nullptr);
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // Blocked here too (it inherits the mask), as sigwait requires.  It
    // lives as long as the process.
    std::thread([set] {
      // Named, so that a look at /proc tells it from the threads that
      // compute (tests/stop_signal_test.sh): while in sigwait the kernel
      // shows the two signals unblocked in it.
      pthread_setname_np(pthread_self(), "rfm-stop-signal");
      for (;;) {
        int signal = 0;
        if (sigwait(&set, &signal) == 0) remember(signal);
      }
    }).detach();
  });
}

int stop_signal_received() { return received.load(); }

void clear_stop_signal() { received.store(0); }

}  // namespace rfm::run
