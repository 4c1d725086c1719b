#include "trainer/run/stop_signal_hook.h"

#include "trainer/run/stop_signals.h"

namespace rfm::run {

void StopSignalHook::before_train(TrainingLoop& /*loop*/) {
  // Idempotent; `rfm train` started it before any thread existed.
  start_stop_signal_watcher();
}

void StopSignalHook::before_step(TrainingLoop& loop, int64_t /*step*/) {
  if (stop_signal_received() != 0) loop.request_stop();
}

void StopSignalHook::after_step(TrainingLoop& loop, const engine::StepStats& stats) {
  if (!stats.stop_requested || !leader_) return;
  loop.log() << "stop requested (SIGTERM/SIGUSR1): checkpoint " << loop.outcome().last_checkpoint
             << " written at step " << loop.steps_done() << std::endl;
}

}  // namespace rfm::run
