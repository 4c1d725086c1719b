#pragma once
// Rank 0's view of a run on the console: on a terminal, one progress bar
// line redrawn every step (epoch, step/total, ETA, images/s, the loss
// terms); elsewhere (a file, Slurm's output) a plain line every
// metrics.log_every_steps steps, which a log keeps readable.

#include <chrono>
#include <cstdint>
#include <ostream>

#include "trainer/engine/trainer.h"

namespace rfm::run {

class ConsoleProgress {
 public:
  // `terminal`: draw the bar (true when `out` is a TTY).
  ConsoleProgress(std::ostream& out, bool terminal, int64_t first_step, int64_t total, int log_every);

  // After step `done` (1-based) of the run; `world` ranks ran it.
  void step(const engine::StepStats& stats, int64_t done, double epoch, int world);
  // Ends the bar's line before other output (checkpoints, evaluation).
  void interrupt();

  // Seconds left at the recent pace; < 0 before the first step.
  double eta_seconds() const { return eta_; }

 private:
  std::ostream& out_;
  bool terminal_;
  int64_t total_;
  int log_every_;
  bool bar_open_ = false;
  double pace_ = -1.0;  // seconds per step (data wait included), smoothed
  double eta_ = -1.0;
  std::chrono::steady_clock::time_point last_;
  int64_t last_done_;
};

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

}  // namespace rfm::run
