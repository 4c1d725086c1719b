#include "trainer/model/autocast_scope.h"

#include <stdexcept>

#include <ATen/autocast_mode.h>

namespace rfm::model {
namespace {

bool is_cuda(c10::DeviceType t) { return t == c10::DeviceType::CUDA; }
bool get_enabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void set_enabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
at::ScalarType get_dtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_dtype(c10::DeviceType t, at::ScalarType dtype) { at::autocast::set_autocast_dtype(t, dtype); }

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
