#include "trainer/run/console_progress.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace rfm::run {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else if (s >= 60) {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(s));
  }
  return text;
}

ConsoleProgress::ConsoleProgress(std::ostream& out, bool terminal, int64_t first_step, int64_t total, int log_every)
    : out_(out),
      terminal_(terminal),
      total_(total),
      log_every_(log_every < 1 ? 1 : log_every),
      last_(std::chrono::steady_clock::now()),
      last_done_(first_step) {}

void ConsoleProgress::step(const engine::StepStats& stats, int64_t done, double epoch, int world) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  const int64_t steps = done - last_done_;
  last_ = now;
  last_done_ = done;
  if (steps > 0) {
    const double per_step = elapsed / static_cast<double>(steps);
    // The first step includes warm-up; later ones are weighted evenly
    // enough to follow a change of pace (an lr step, a slower node).
    pace_ = pace_ < 0 ? per_step : 0.8 * pace_ + 0.2 * per_step;
  }
  eta_ = pace_ < 0 ? -1.0 : pace_ * static_cast<double>(total_ - done);
  const double images_per_second = stats.seconds > 0 ? static_cast<double>(stats.images * world) / stats.seconds : 0.0;

  std::ostringstream terms;
  // The total, then in parentheses the terms that are not parts of another.
  terms << std::fixed << std::setprecision(4) << "loss " << stats.loss[loss::kTotalLoss] << " (";
  const char* separator = "";
  for (const auto& term : loss::kLossTerms) {
    if (term.term == loss::kTotalLoss || term.detail) continue;
    terms << separator << term.name << " " << stats.loss[term.term];
    separator = ", ";
  }
  terms << ")";
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::ostringstream line;
    line << "\r[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(kWidth - filled), '.')
         << "] epoch " << std::fixed << std::setprecision(2) << epoch << " step " << done << "/" << total_ << " ETA "
         << format_duration(eta_) << " " << std::setprecision(1) << images_per_second << " img/s " << terms.str()
         << "\x1b[K";  // clear what a longer previous line left
    out_ << line.str() << std::flush;
    bar_open_ = true;
    if (done == total_) interrupt();
    return;
  }
  if ((done - 1) % log_every_ == 0 || done == total_) {
    out_ << std::fixed << std::setprecision(4) << "step " << done << "/" << total_ << " epoch " << epoch << " lr "
         << stats.lr << " " << terms.str() << " " << std::setprecision(2) << images_per_second << " img/s, data wait "
         << std::setprecision(3) << stats.data_seconds << " s, ETA " << format_duration(eta_) << std::endl;
  }
}

void ConsoleProgress::interrupt() {
  if (!bar_open_) return;
  out_ << "\n" << std::flush;
  bar_open_ = false;
}

}  // namespace rfm::run
