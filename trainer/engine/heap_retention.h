#pragma once
// Large freed blocks stay in the process's heap for the next step to reuse.
// By default glibc returns blocks above its mmap threshold (at most 32 MiB)
// to the kernel on free, so every step faults its activations and gradients
// in page by page again, a large share of a CPU step
// (bench/results/JOURNAL.md).  Process-wide; call before the model is built.

namespace rfm::engine {

// Raises glibc's mmap and trim thresholds to 1 GiB.  Returns false where the
// C library does not take them (the call is then a no-op).
bool retain_freed_memory();

}  // namespace rfm::engine
