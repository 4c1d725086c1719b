#pragma once
// Running one job on several of LibTorch's intra-op threads at once.
//
// at::parallel_for would do, but it is a header template: its `omp
// parallel` compiles in the caller's file, and a file built without
// -fopenmp runs the whole range on one thread.  This file is the one built
// with OpenMP, and shares LibTorch's OpenMP runtime (one libgomp.so.1 in the
// process): the job runs on the same threads as the tensor operations around
// it.  Helper threads of our own (at::launch) lost half their time to those
// threads, which spin for a while after every operation before they sleep
// (bench/results/JOURNAL.md, LTG's optimisations).
#include <functional>

namespace rfm::kernels {

// Calls body(w) for every w in [0, workers), each on its own thread, and
// returns when all have returned; the first exception is rethrown.  Built
// without OpenMP, the calls run one after another on the caller's thread.
void run_on_intra_op_threads(int workers, const std::function<void(int)>& body);

}  // namespace rfm::kernels
