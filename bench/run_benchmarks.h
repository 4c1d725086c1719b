#pragma once
// The end of every benchmark's main(), after it has registered what it
// runs: Google Benchmark's flags, the runs, and the exit status.

#include <benchmark/benchmark.h>

namespace rfm::bench {

inline int run_registered_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace rfm::bench
