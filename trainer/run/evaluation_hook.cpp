#include "trainer/run/evaluation_hook.h"

#include <filesystem>
#include <fstream>
#include <iomanip>

#include "evaluation/evaluation_job.h"
#include "trainer/run/rank_barrier.h"

namespace rfm::run {

namespace fs = std::filesystem;

void EvaluationHook::after_epoch(TrainingLoop& loop, int64_t /*epochs_done*/) {
  if (run_.schedule.evaluates_after(loop.steps_done())) evaluate(loop);
}

void EvaluationHook::evaluate(TrainingLoop& loop) {
  const int64_t done = loop.steps_done();
  loop.enter_phase(engine::Phase::kEvaluate, done);
  if (run_.leader) {
    auto& outcome = loop.outcome();
    const fs::path run_dir(run_.config.train().run_dir());
    evaluation::EvaluationRequest request;
    request.config = run_.config;
    request.checkpoints = {outcome.last_checkpoint};  // the checkpoint hook wrote this step's
    request.out_dir = (run_dir / "eval" / ("step-" + std::to_string(done))).string();
    auto& log = loop.log();
    const auto report = evaluation::run_evaluation(request, log);
    run_.trainer.model()->train();
    // The first protocol's mean mAP (the config's first SYSU mode or RegDB
    // direction): what "best" means.
    const double map = report.results_size() > 0 ? report.results(0).map().mean() : -1.0;
    const bool new_log = !fs::exists(run_dir / "eval_log.tsv");
    std::ofstream eval_log(run_dir / "eval_log.tsv", std::ios::app);
    if (new_log) eval_log << "step\tprotocol\trank1\tmap\tminp\n";
    for (const auto& r : report.results()) {
      eval_log << done << '\t' << r.name() << '\t' << 100 * r.rank1().mean() << '\t' << 100 * r.map().mean() << '\t'
               << 100 * r.minp().mean() << '\n';
    }
    loop.evaluated(report);
    loop.log() << std::fixed << std::setprecision(2) << "evaluation at step " << done << ": mAP " << 100 * map
               << (map > outcome.best_map ? " (best so far)" : "") << std::endl;
    if (map > outcome.best_map) {
      outcome.best_map = map;
      outcome.best_step = done;
      const std::string best = run_.checkpoints.best_path();
      fs::copy_file(outcome.last_checkpoint, best + ".tmp", fs::copy_options::overwrite_existing);
      fs::rename(best + ".tmp", best);
    }
  }
  wait_for_all_ranks(run_.transport.get());
}

}  // namespace rfm::run
