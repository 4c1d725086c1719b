#pragma once
// SIGTERM and SIGUSR1 ask a run to stop at the next step boundary after
// writing a checkpoint (Slurm sends them before preemption or the time
// limit).  The training loop reads a flag that records the first one.
//
// No thread that computes may take them.  A signal handler runs on the
// stack pointer of whichever thread the kernel picks, and oneDNN's JIT f32
// GEMM kernels (up to 3.11.1; LibTorch builds oneDNN in)
// point rsp into a heap workspace while they run: a handler interrupting
// one writes its frame into the heap (oneDNN issue #4845).  So the worker
// blocks both signals in every thread and one thread of its own waits for
// them with sigwait (docs/DISTRIBUTED.md, "Stop signals").

namespace rfm::run {

// Blocks SIGTERM and SIGUSR1 in the calling thread, which every thread it
// starts afterwards inherits, and starts the thread that takes them.  Call
// it first in main(), before any other thread exists.  Idempotent.  It also
// installs a handler that only records the signal, for threads that
// existed before (a test process); `rfm train` has none.
void start_stop_signal_watcher();
// 0 when none arrived, otherwise the first signal's number.
int stop_signal_received();
// For tests: forget the signal.
void clear_stop_signal();

// The exit code of a run that stopped on such a signal with its checkpoint
// written: the Slurm script requeues the job on it (sysexits' EX_TEMPFAIL).
constexpr int kExitRequeue = 75;

}  // namespace rfm::run
