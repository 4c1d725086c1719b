#include "trainer/run/train_log_tsv_hook.h"

#include <filesystem>

namespace rfm::run {

namespace fs = std::filesystem;

std::string train_log_header() {
  std::string header = "step\tepoch\tlr";
  for (const auto& term : loss::kLossTerms) header += std::string("\t") + term.name;
  return header + "\tseconds\tltg_rectangles\tdata_seconds\tgrad_norm\tloss_scale\tskipped";
}

void TrainLogTsvHook::before_train(TrainingLoop& loop) {
  bool append = loop.first_step() > 0 && fs::exists(path_);
  if (append) {
    std::string first_line;
    std::getline(std::ifstream(path_), first_line);
    if (first_line != train_log_header()) {
      const std::string kept = path_ + ".before-step-" + std::to_string(loop.first_step());
      fs::rename(path_, kept);
      loop.log() << "warning: " << path_ << " has other columns; kept as " << kept << ", a new one starts"
                 << std::endl;
      append = false;
    }
  }
  tsv_.open(path_, append ? std::ios::app : std::ios::trunc);
  if (!append) tsv_ << train_log_header() << '\n';
}

void TrainLogTsvHook::after_step(TrainingLoop& loop, const engine::StepStats& s) {
  tsv_ << s.step << '\t' << loop.epoch_at(s.step) << '\t' << s.lr;
  for (const auto& term : loss::kLossTerms) tsv_ << '\t' << s.loss[term.term];
  tsv_ << '\t' << s.seconds << '\t' << s.ltg_rectangles << '\t' << s.data_seconds << '\t' << s.grad_norm << '\t'
       << s.loss_scale << '\t' << (s.skipped ? 1 : 0) << '\n';
  if (s.step % flush_every_ == 0 || loop.steps_done() == loop.total_steps()) tsv_.flush();
}

}  // namespace rfm::run
