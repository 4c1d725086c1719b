#pragma once
// PNG plots of a run's history, from the files the run leaves:
// train_log.tsv (loss terms and lr per step) and eval_log.tsv (Rank-1, mAP
// and mINP per evaluation and protocol).  Written at the end of every run
// and by `rfm plot --run-dir DIR` at any time, also while a run goes on.

#include <string>
#include <vector>

namespace rfm::run {

// Writes <run_dir>/plots/{loss.png, lr.png, evaluation.png} (the last only
// when there was an evaluation) and returns the paths written.  Throws
// std::runtime_error naming the file when train_log.tsv is missing or
// malformed.
std::vector<std::string> write_training_plots(const std::string& run_dir);

}  // namespace rfm::run
