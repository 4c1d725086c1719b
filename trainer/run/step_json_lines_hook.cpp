#include "trainer/run/step_json_lines_hook.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace rfm::run {
namespace {

// A JSON number, or null for NaN and infinities (an FP16 step that
// overflowed), which JSON cannot write.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream out;
  out << std::setprecision(9) << v;
  return out.str();
}

}  // namespace

std::string step_json(const engine::StepStats& s, int64_t done, double epoch) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ostringstream j;
  j << "{\"step\": " << done << ", \"epoch\": " << json_number(epoch) << ", \"lr\": " << json_number(s.lr)
    << ", \"loss\": {";
  for (const auto& term : loss::kLossTerms) {
    j << (term.term == 0 ? "" : ", ") << '"' << term.name << "\": " << json_number(s.loss[term.term]);
  }
  j << "}, \"images\": " << s.images << ", \"seconds\": " << json_number(s.seconds)
    << ", \"data_seconds\": " << json_number(s.data_seconds)
    << ", \"forward_seconds\": " << json_number(s.forward_seconds)
    << ", \"backward_seconds\": " << json_number(s.backward_seconds)
    << ", \"all_reduce_seconds\": " << json_number(s.all_reduce_seconds)
    << ", \"optimizer_seconds\": " << json_number(s.optimizer_seconds)
    << ", \"grad_norm\": " << json_number(s.grad_norm) << ", \"loss_scale\": " << json_number(s.loss_scale)
    << ", \"skipped\": " << (s.skipped ? "true" : "false") << ", \"unix_time\": " << std::fixed
    << std::setprecision(3) << now << "}";
  return j.str();
}

}  // namespace rfm::run
