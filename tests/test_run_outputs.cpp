// What a run leaves besides checkpoints: the console (a progress bar on a
// terminal, plain lines elsewhere, an ETA), every rank's JSON lines, and
// PNG plots of the loss terms, lr and evaluations.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/config_loader.h"
#include "temp_dir.h"
#include "trainer/run/console_progress.h"
#include "trainer/run/training_plots.h"
#include "trainer/run/training_run.h"

using namespace rfm;
namespace fs = std::filesystem;

namespace {

engine::StepStats stats_of(double total) {
  engine::StepStats s;
  s.images = 8;
  s.seconds = 0.5;
  s.loss[loss::kTotalLoss] = total;
  s.loss[loss::kIdLoss] = 1;
  s.loss[loss::kTripletLoss] = 2;
  s.loss[loss::kCentreLoss] = 3;
  s.loss[loss::kModalityIdLoss] = 4;
  s.loss[loss::kVisibleIdLoss] = 1.5;  // details: in the files, not on the console
  s.lr = 0.03;
  return s;
}

bool is_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in && std::string(magic + 1, 3) == "PNG";
}

}  // namespace

TEST(ConsoleProgress, FormatsDurations) {
  EXPECT_EQ(run::format_duration(12.4), "12s");
  EXPECT_EQ(run::format_duration(185), "3m05s");
  EXPECT_EQ(run::format_duration(3720), "1h02m");
  EXPECT_EQ(run::format_duration(-1), "?");
}

TEST(ConsoleProgress, PlainLinesEveryIntervalWhenNotATerminal) {
  std::ostringstream out;
  run::ConsoleProgress progress(out, /*terminal=*/false, 0, 5, 2);
  for (int64_t done = 1; done <= 5; ++done) progress.step(stats_of(9.5), done, 0.1 * done, 2);
  std::istringstream lines(out.str());
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << out.str();  // steps 1, 3 and 5 (the last)
  EXPECT_EQ(got[0].rfind("step 1/5 ", 0), 0u);
  EXPECT_EQ(got[2].rfind("step 5/5 ", 0), 0u);
  EXPECT_NE(got[1].find("32.00 img/s"), std::string::npos) << got[1];  // 8 images x 2 ranks / 0.5 s
  EXPECT_NE(got[1].find("loss 9.5000 (id 1.0000, triplet 2.0000, centre 3.0000, modality_id 4.0000) "),
            std::string::npos);
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
  EXPECT_NE(got[2].find("ETA 0s"), std::string::npos);
}

TEST(ConsoleProgress, ABarRedrawnInPlaceOnATerminal) {
  std::ostringstream out;
  run::ConsoleProgress progress(out, /*terminal=*/true, 0, 4, 100);
  progress.step(stats_of(9.5), 1, 0.25, 1);
  EXPECT_EQ(out.str().rfind("\r[######..................] epoch 0.25 step 1/4 ETA ", 0), 0u) << out.str();
  EXPECT_GE(progress.eta_seconds(), 0.0);
  EXPECT_EQ(out.str().find('\n'), std::string::npos);
  progress.interrupt();  // e.g. before a checkpoint's line
  EXPECT_EQ(out.str().back(), '\n');
  progress.step(stats_of(9.0), 4, 1.0, 1);
  EXPECT_NE(out.str().find("[########################] epoch 1.00 step 4/4"), std::string::npos);
  EXPECT_EQ(out.str().back(), '\n');  // the last step ends the line
}

TEST(RunOutputs, JsonLinesPerStepAndPlotsAtTheEnd) {
  rfm::testing::TempDir dir;
  const auto config = config::load_run_config(
      "", {"model.depth=18", "model.num_parts=2", "model.part_dim=8", "model.num_classes=4", "data.height=64",
           "data.width=32", "data.ids_per_batch=2", "data.images_per_modality=2", "data.random_images_per_identity=4",
           "train.epochs=1", "train.steps_per_epoch=3", "train.threads=1", "train.eval_every_epochs=0",
           "checkpoint.every_epochs=0", "train.run_dir=" + dir.str()});
  std::ostringstream log;
  run::run_training(config, log);
  std::ifstream jsonl(dir.str() + "/logs/rank-0.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(jsonl, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind("{\"step\": " + std::to_string(i + 1) + ", \"epoch\": ", 0), 0u) << lines[i];
    EXPECT_EQ(lines[i].back(), '}');
    EXPECT_NE(lines[i].find("\"loss\": {\"total\": "), std::string::npos);
    EXPECT_EQ(lines[i].find("nan"), std::string::npos);
  }
  for (const char* png : {"/plots/loss.png", "/plots/lr.png"}) EXPECT_TRUE(is_png(dir.str() + png)) << png;
  EXPECT_FALSE(fs::exists(dir.str() + "/plots/evaluation.png"));  // no evaluation in this run
  EXPECT_NE(log.str().find("plot " + dir.str() + "/plots/loss.png"), std::string::npos) << log.str();

  // An evaluation log adds the evaluation plot; a malformed log is named.
  std::ofstream(dir.str() + "/eval_log.tsv") << "step\tprotocol\trank1\tmap\tminp\n"
                                             << "2\tSYSU-MM01 all-search single-shot\t10\t12\t5\n"
                                             << "3\tSYSU-MM01 all-search single-shot\t14\t15\t6\n";
  EXPECT_EQ(run::write_training_plots(dir.str()).size(), 3u);
  EXPECT_TRUE(is_png(dir.str() + "/plots/evaluation.png"));
  std::ofstream(dir.str() + "/eval_log.tsv") << "step\tprotocol\trank1\tmap\tminp\n2\tx\tten\t12\t5\n3\tx\t1\t2\t3\n";
  try {
    run::write_training_plots(dir.str());
    FAIL() << "a malformed eval_log.tsv was plotted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("eval_log.tsv: row 2, column rank1: not a number"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(run::write_training_plots(dir.str() + "/nothing-here"), std::runtime_error);
}
