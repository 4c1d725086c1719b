#pragma once
// A run's checkpoint directory: step-<8 digits>.pt files (the periodic and
// preemption checkpoints), last.pt (the final weights), best.pt (the best
// evaluated weights).  Finds the newest checkpoint that reads back, skipping
// partial or corrupt ones with a warning, and keeps only the last K.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace rfm::run {

class CheckpointDirectory {
 public:
  explicit CheckpointDirectory(std::string directory) : directory_(std::move(directory)) {}
  const std::string& path() const { return directory_; }

  std::string step_path(int64_t step) const;
  std::string last_path() const { return directory_ + "/last.pt"; }
  std::string best_path() const { return directory_ + "/best.pt"; }

  // step-*.pt files, oldest first.
  std::vector<std::pair<int64_t, std::string>> step_checkpoints() const;

  // Calls `load` on step checkpoints from the newest down until one loads
  // without throwing model_io::CheckpointError, and returns it; each one
  // skipped (partial, corrupt, without training state) is named on `log`
  // with the reason.  nullopt when none loads.
  std::optional<std::string> resume_newest(std::ostream& log,
                                           const std::function<void(const std::string&)>& load) const;

  // Deletes all but the newest `keep` step checkpoints (and stale .tmp files).
  void keep_newest(int keep) const;

 private:
  std::string directory_;
};

}  // namespace rfm::run
