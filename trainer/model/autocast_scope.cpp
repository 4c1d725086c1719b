#include "trainer/model/autocast_scope.h"

#include <stdexcept>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// 2.4 added the per-device-type functions and deprecated the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define RFM_AUTOCAST_PER_DEVICE_TYPE 1
#endif

namespace rfm::model {
namespace {

bool is_cuda(c10::DeviceType t) { return t == c10::DeviceType::CUDA; }

bool get_enabled(c10::DeviceType t) {
#ifdef RFM_AUTOCAST_PER_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(t);
#else
  return is_cuda(t) ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_enabled(c10::DeviceType t, bool on) {
#ifdef RFM_AUTOCAST_PER_DEVICE_TYPE
  at::autocast::set_autocast_enabled(t, on);
#else
  if (is_cuda(t)) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
#endif
}

at::ScalarType get_dtype(c10::DeviceType t) {
#ifdef RFM_AUTOCAST_PER_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(t);
#else
  return is_cuda(t) ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_dtype(c10::DeviceType t, at::ScalarType dtype) {
#ifdef RFM_AUTOCAST_PER_DEVICE_TYPE
  at::autocast::set_autocast_dtype(t, dtype);
#else
  if (is_cuda(t)) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

bool autocast_enabled(c10::DeviceType device_type) { return get_enabled(device_type); }

AutocastScope::AutocastScope(c10::DeviceType device_type, at::ScalarType dtype) : device_type_(device_type) {
  if (dtype == at::kFloat) return;
  if (device_type != c10::DeviceType::CPU && device_type != c10::DeviceType::CUDA) {
    throw std::invalid_argument("autocast: only CPU and CUDA devices are supported");
  }
  if (dtype != at::kBFloat16 && dtype != at::kHalf) {
    throw std::invalid_argument("autocast: the reduced precision must be bfloat16 or float16");
  }
  if (dtype == at::kHalf && !is_cuda(device_type)) {
    throw std::invalid_argument("autocast: float16 needs a CUDA device (use bfloat16 on CPU)");
  }
  previous_enabled_ = get_enabled(device_type);
  previous_dtype_ = get_dtype(device_type);
  set_dtype(device_type, dtype);
  set_enabled(device_type, true);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The cast weights are cached while autocast is nested; leaving the
  // outermost scope frees them (they are remade next forward, after the
  // optimizer has changed the weights).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(device_type_, previous_enabled_);
  set_dtype(device_type_, previous_dtype_);
}

}  // namespace rfm::model
