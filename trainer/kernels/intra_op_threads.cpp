#include "trainer/kernels/intra_op_threads.h"

#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rfm::kernels {

void run_on_intra_op_threads(int workers, const std::function<void(int)>& body) {
  if (workers <= 1) {
    body(0);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&](int w) {
    try {
      body(w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
#ifdef _OPENMP
  // The team may be smaller than asked (a nested call, a thread limit):
  // then its threads take the remaining indices in turn.
#pragma omp parallel num_threads(workers)
  {
    const int team = omp_get_num_threads();
    for (int w = omp_get_thread_num(); w < workers; w += team) guarded(w);
  }
#else
  for (int w = 0; w < workers; ++w) guarded(w);
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace rfm::kernels
