#pragma once
// Autocast for one block of code (the model's forward): inside it, the ops
// that LibTorch's autocast lists (convolutions, matrix products) run in a
// reduced precision while the weights stay float32, and what was set before
// comes back at the end.  It lives with the model because the model asks
// too: its 3x3 convolutions leave the Winograd kernel under autocast
// (resnet.cpp).

#include <torch/torch.h>

namespace rfm::model {

class AutocastScope {
 public:
  // `dtype` kFloat (or `enabled` false): nothing changes.  Otherwise
  // kBFloat16 (CPU or CUDA) or kHalf (CUDA).
  AutocastScope(c10::DeviceType device_type, at::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  bool active() const { return active_; }

 private:
  c10::DeviceType device_type_;
  bool active_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// Whether autocast is on for `device_type` on this thread now.
bool autocast_enabled(c10::DeviceType device_type);

}  // namespace rfm::model
