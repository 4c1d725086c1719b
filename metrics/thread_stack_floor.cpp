// civetweb (prometheus-cpp's HTTP server) starts its threads with 100 KiB
// stacks (Debian builds it with USE_STACK_SIZE=102400).  glibc places a
// thread's static TLS on its stack, and a process that loads LibTorch,
// OpenBLAS (60 KiB of TLS) and glog needs more than 100 KiB of it, so
// pthread_create fails with EINVAL before any thread starts ("Cannot create
// threads: error 0").  This definition, exported from the executable
// (metrics/CMakeLists.txt), comes before libc's in symbol lookup: it raises
// any requested stack size to at least 1 MiB and otherwise defers to libc.
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstddef>

namespace {
constexpr std::size_t kMinimumStack = std::size_t{1} << 20;
using SetStackSize = int (*)(pthread_attr_t*, std::size_t);
}  // namespace

extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, std::size_t size) {
  static const auto libc = reinterpret_cast<SetStackSize>(::dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  return libc(attr, std::max(size, kMinimumStack));
}

namespace rfm::metrics {
// Referenced by MetricsEndpoint so that the linker keeps this object.
int thread_stack_floor_anchor = 0;
}  // namespace rfm::metrics
