#include "trainer/engine/heap_retention.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rfm::engine {

bool retain_freed_memory() {
#if defined(__GLIBC__)
  constexpr int kThreshold = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, kThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kThreshold) == 1;
#else
  return false;
#endif
}

}  // namespace rfm::engine
