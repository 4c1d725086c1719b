// The training job around the step: checkpoints every N steps, a stop
// signal at a step boundary, resume (bit-identical on CPU with one process),
// skipping a corrupt checkpoint, keeping the last K, and a non-finite loss
// that leaves the last good checkpoint in place.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "proto/config_loader.h"
#include "temp_dir.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/engine/gradient_clipping.h"
#include "trainer/model_io/model_checkpoint.h"
#include "trainer/run/checkpoint_directory.h"
#include "trainer/run/stop_signals.h"
#include "trainer/run/training_run.h"

using namespace rfm;
namespace fs = std::filesystem;

namespace {

config::RunConfig tiny_run(const std::string& run_dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> settings = {
      "model.depth=18", "model.num_parts=2", "model.part_dim=8", "model.num_classes=4", "data.height=64",
      "data.width=32", "data.ids_per_batch=2", "data.images_per_modality=2", "data.random_images_per_identity=4",
      "train.epochs=2", "train.steps_per_epoch=4", "train.threads=1", "train.eval_every_epochs=0",
      "checkpoint.every_steps=2", "checkpoint.every_epochs=0", "checkpoint.keep_last=2", "optimizer.lr=0.05",
      "schedule.milestones=1", "train.run_dir=" + run_dir};
  settings.insert(settings.end(), extra.begin(), extra.end());
  return config::load_run_config("", settings);
}

std::map<std::string, torch::Tensor> weights_of(const std::string& checkpoint) {
  auto info = model_io::read_checkpoint_info(checkpoint);
  torch::manual_seed(0);
  model::RfmModel model(model_io::model_options(info.config));
  model_io::load_model_weights(checkpoint, model);
  std::map<std::string, torch::Tensor> out;
  for (auto& p : model->named_parameters()) out[p.key()] = p.value().detach().clone();
  for (auto& b : model->named_buffers()) out[b.key()] = b.value().clone();
  return out;
}

void expect_bit_identical(const std::string& a, const std::string& b) {
  auto wa = weights_of(a), wb = weights_of(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) EXPECT_TRUE(torch::equal(t, wb.at(name))) << name;
}

}  // namespace

TEST(TrainingRun, StopSignalThenResumeIsBitIdenticalToOneRun) {
  rfm::testing::TempDir dir;
  std::ostringstream log;
  const auto straight = run::run_training(tiny_run(dir.str() + "/straight"), log);
  EXPECT_EQ(straight.final_step, 8);
  EXPECT_FALSE(straight.stopped_by_signal);

  // SIGUSR1 arrives during step 3: the run finishes that step, writes a
  // checkpoint at the boundary and reports the stop.
  const auto split = tiny_run(dir.str() + "/split");
  run::start_stop_signal_watcher();
  auto first = run::run_training(tiny_run(dir.str() + "/split", {"train.max_steps=2"}), log);
  EXPECT_EQ(first.final_step, 2);
  // To the process, as Slurm and mpirun send it: the watcher takes it.
  ::kill(::getpid(), SIGUSR1);
  for (int i = 0; i < 1000 && run::stop_signal_received() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(run::stop_signal_received(), SIGUSR1);
  auto stopped = run::run_training(split, log);
  run::clear_stop_signal();
  EXPECT_TRUE(stopped.stopped_by_signal);
  EXPECT_EQ(stopped.first_step, 2);
  EXPECT_EQ(stopped.final_step, 3);
  EXPECT_EQ(fs::path(stopped.last_checkpoint).filename(), "step-00000003.pt");

  // A partial newest checkpoint (a crash mid-write of another tool) is
  // skipped with a warning; the run resumes from step 3.
  { std::ofstream(dir.str() + "/split/checkpoints/step-00000004.pt") << "truncated"; }
  std::ostringstream resume_log;
  auto resumed = run::run_training(split, resume_log);
  EXPECT_EQ(resumed.first_step, 3);
  EXPECT_EQ(resumed.final_step, 8);
  EXPECT_NE(resume_log.str().find("warning: skipping checkpoint"), std::string::npos) << resume_log.str();
  EXPECT_NE(resume_log.str().find("step-00000004.pt"), std::string::npos);
  EXPECT_NE(resume_log.str().find("resumed from"), std::string::npos);

  expect_bit_identical(dir.str() + "/straight/checkpoints/last.pt", dir.str() + "/split/checkpoints/last.pt");
  // keep_last 2: only steps 6 and 8 remain of the periodic checkpoints.
  run::CheckpointDirectory checkpoints(dir.str() + "/split/checkpoints");
  std::vector<int64_t> steps;
  for (const auto& c : checkpoints.step_checkpoints()) steps.push_back(c.first);
  EXPECT_EQ(steps, (std::vector<int64_t>{6, 8}));
  // The training log continues instead of starting over: one header, 8 steps
  // (3 before the stop, 5 after).
  std::ifstream tsv(dir.str() + "/split/train_log.tsv");
  std::string line;
  int lines = 0;
  while (std::getline(tsv, line)) ++lines;
  EXPECT_EQ(lines, 1 + 8);
}

// Random identities have no query and gallery: a run that asks for in-run
// evaluation trains to its end, says once that it cannot evaluate, and its
// effective config says what it did.
TEST(TrainingRun, WithoutAnEvaluationProtocolItTrainsToTheEndAndSaysSoOnce) {
  rfm::testing::TempDir dir;
  std::ostringstream log;
  const auto outcome = run::run_training(tiny_run(dir.str(), {"train.eval_every_epochs=1"}), log);
  EXPECT_EQ(outcome.final_step, 8);
  EXPECT_EQ(outcome.best_step, -1);
  const std::string text = log.str();
  const std::string note = "data.source = RANDOM_IDENTITIES has no evaluation protocol";
  const auto first = text.find(note);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(note, first + 1), std::string::npos) << "said more than once: " << text;
  EXPECT_FALSE(fs::exists(dir.path() / "eval"));
  EXPECT_FALSE(fs::exists(dir.path() / "eval_log.tsv"));
  EXPECT_EQ(config::load_run_config((dir.path() / "config.pbtxt").string(), {}).train().eval_every_epochs(), 0);
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoints" / "last.pt"));
}

TEST(TrainingRun, NonFiniteLossKeepsTheLastGoodCheckpoint) {
  rfm::testing::TempDir dir;
  std::ostringstream log;
  // An absurd learning rate: the weights explode within a few steps.
  const auto config = tiny_run(dir.str(), {"checkpoint.every_steps=1", "checkpoint.keep_last=100", "optimizer.lr=1e12",
                                           "train.epochs=20"});
  EXPECT_THROW(run::run_training(config, log), engine::NonFiniteLossError);
  run::CheckpointDirectory checkpoints(dir.str() + "/checkpoints");
  const auto written = checkpoints.step_checkpoints();
  ASSERT_FALSE(written.empty());
  EXPECT_FALSE(fs::exists(checkpoints.last_path()));
  for (const auto& [step, path] : written) {
    for (const auto& [name, t] : weights_of(path)) {
      if (t.is_floating_point()) {
        EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << path << " " << name;
      }
    }
  }
}

TEST(CheckpointDirectory, NamesOrdersAndPrunes) {
  rfm::testing::TempDir dir;
  run::CheckpointDirectory c(dir.str());
  EXPECT_EQ(fs::path(c.step_path(42)).filename(), "step-00000042.pt");
  for (int s : {30, 4, 100}) std::ofstream(c.step_path(s)) << "x";
  std::ofstream(dir.str() + "/step-00000007.pt.tmp") << "partial";
  std::ofstream(dir.str() + "/notes.txt") << "kept";
  std::vector<int64_t> steps;
  for (const auto& s : c.step_checkpoints()) steps.push_back(s.first);
  EXPECT_EQ(steps, (std::vector<int64_t>{4, 30, 100}));
  c.keep_newest(2);
  steps.clear();
  for (const auto& s : c.step_checkpoints()) steps.push_back(s.first);
  EXPECT_EQ(steps, (std::vector<int64_t>{30, 100}));
  EXPECT_FALSE(fs::exists(dir.str() + "/step-00000007.pt.tmp"));
  EXPECT_TRUE(fs::exists(dir.str() + "/notes.txt"));
  std::ostringstream log;
  // None of these "checkpoints" loads: nullopt, each one named.
  EXPECT_FALSE(c.resume_newest(log, [](const std::string& p) { model_io::read_checkpoint_info(p); }).has_value());
  EXPECT_NE(log.str().find("step-00000100.pt"), std::string::npos);
  EXPECT_NE(log.str().find("step-00000030.pt"), std::string::npos);
}

// The trainer's clipping against LibTorch's clip_grad_norm_ on the same
// gradients: the same norm, the same clipped gradients, and gradients under
// the limit (or with clipping off) left exactly as they were.
TEST(GradientClipping, EqualsLibTorchClipGradNormAndScalesOnlyWhenItClips) {
  torch::manual_seed(4);
  auto make = [] {
    std::vector<torch::Tensor> params = {torch::zeros({3, 4}, torch::requires_grad()),
                                         torch::zeros({5}, torch::requires_grad()),
                                         torch::zeros({2}, torch::requires_grad())};
    params[0].mutable_grad() = torch::arange(12, torch::kFloat32).view({3, 4}) - 5.0f;
    params[1].mutable_grad() = torch::linspace(-2.0, 3.0, 5);
    return params;  // the third has no gradient
  };
  // Sums of squares: (-5..6)^2 gives 146; -2, -0.75, 0.5, 1.75, 3 give 16.875.
  const double expected_norm = std::sqrt(146.0 + 16.875);
  for (const double max_norm : {0.0, 100.0, 5.0}) {
    auto ours = make(), theirs = make();
    const double norm = engine::clip_gradient_norm(ours, max_norm);
    const double reference = torch::nn::utils::clip_grad_norm_(theirs, max_norm > 0 ? max_norm : 1e30);
    EXPECT_NEAR(norm, expected_norm, 1e-5) << "max_norm " << max_norm;
    EXPECT_DOUBLE_EQ(norm, reference) << "max_norm " << max_norm;
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_TRUE(torch::allclose(ours[k].grad(), theirs[k].grad(), 1e-6, 0)) << "max_norm " << max_norm;
      if (max_norm != 5.0) {
        EXPECT_TRUE(torch::equal(ours[k].grad(), make()[k].grad())) << "unclipped gradients are not touched";
      }
    }
    EXPECT_FALSE(ours[2].grad().defined());
  }
  auto clipped = make();
  engine::clip_gradient_norm(clipped, 5.0);
  EXPECT_NEAR(engine::clip_gradient_norm(clipped, 0.0), 5.0, 1e-4);
  auto broken = make();
  broken[1].mutable_grad()[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(std::isfinite(engine::clip_gradient_norm(broken, 5.0)));
  EXPECT_TRUE(torch::equal(broken[0].grad(), make()[0].grad())) << "no scaling by a NaN coefficient";
}
