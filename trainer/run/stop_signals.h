#pragma once
// SIGTERM and SIGUSR1 ask a run to stop at the next step boundary after
// writing a checkpoint (Slurm sends them before preemption or the time
// limit).  The handler only sets a flag; the training loop reads it.

namespace rfm::run {

// Installs the handlers (idempotent).
void install_stop_signal_handlers();
// 0 when none arrived, otherwise the first signal's number.
int stop_signal_received();
// For tests: forget the signal.
void clear_stop_signal();

// The exit code of a run that stopped on such a signal with its checkpoint
// written: the Slurm script requeues the job on it (sysexits' EX_TEMPFAIL).
constexpr int kExitRequeue = 75;

}  // namespace rfm::run
