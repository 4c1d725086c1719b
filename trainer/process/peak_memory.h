#pragma once
// How much memory this process has needed at most.

namespace rfm::process {

// Peak resident memory of this process (VmHWM) in MiB; 0 where /proc has none.
double peak_rss_mib();

}  // namespace rfm::process
