// The thin training loop alone: a counting batch source and a step function
// that records what it was given, and a hook that records every event, so
// the order of events, the epochs, a stop request and a non-finite loss
// are checked without a model; then the train_log.tsv hook on a resume and
// the random identities' sharding.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "proto/config_loader.h"
#include "temp_dir.h"
#include "trainer/run/random_identity_batch_source.h"
#include "trainer/run/train_log_tsv_hook.h"
#include "trainer/run/training_loop.h"

using namespace rfm;

namespace {

class CountingSource : public run::BatchSource {
 public:
  explicit CountingSource(int64_t per_epoch) : per_epoch_(per_epoch) {}
  int64_t steps_per_epoch() const override { return per_epoch_; }
  void start(int64_t first_step) override { started_at = first_step; }
  loader::TrainBatch next(int64_t step) override {
    served.push_back(step);
    loader::TrainBatch b;
    b.images = torch::full({2, 3, 4, 2}, static_cast<double>(step));
    b.step = step;
    return b;
  }
  std::string position_after(int64_t steps_done) const override { return std::to_string(steps_done); }
  void check_resume_position(const std::string&, int64_t, const std::string&) const override {}

  int64_t started_at = -1;
  std::vector<int64_t> served;

 private:
  int64_t per_epoch_;
};

class RecordingHook : public run::TrainingHook {
 public:
  explicit RecordingHook(std::vector<std::string>* events, std::string name = "")
      : events_(events), name_(std::move(name)) {}
  void before_train(run::TrainingLoop& loop) override { add("before_train " + std::to_string(loop.first_step())); }
  void before_epoch(run::TrainingLoop&, int64_t epoch) override { add("before_epoch " + std::to_string(epoch)); }
  void before_step(run::TrainingLoop& loop, int64_t step) override {
    add("before_step " + std::to_string(step));
    if (step == stop_at) loop.request_stop();
  }
  void after_step(run::TrainingLoop& loop, const engine::StepStats& stats) override {
    add("after_step " + std::to_string(stats.step) + " done " + std::to_string(loop.steps_done()));
  }
  void after_epoch(run::TrainingLoop&, int64_t epochs) override { add("after_epoch " + std::to_string(epochs)); }
  void after_train(run::TrainingLoop& loop) override {
    add("after_train final " + std::to_string(loop.outcome().final_step));
  }
  void on_non_finite(run::TrainingLoop&) override { add("non_finite"); }
  void on_phase(engine::Phase phase, int64_t step) override {
    if (phase == engine::Phase::kData) return;
    add(std::string("phase ") + engine::phase_name(phase) + " " + std::to_string(step));
  }
  void before_log() override { add("before_log"); }

  int64_t stop_at = -1;

 private:
  void add(const std::string& event) { events_->push_back(name_ + event); }
  std::vector<std::string>* events_;
  std::string name_;
};

// A step that takes the batch's first pixel as its loss and asks to stop
// when told to.
run::StepFunction fake_step(double non_finite_at = -1) {
  return [non_finite_at](const loader::TrainBatch& batch, int64_t step, double epoch, bool request_stop,
                         const std::function<void(engine::Phase)>& on_phase) {
    on_phase(engine::Phase::kForward);
    if (step == non_finite_at) throw engine::NonFiniteLossError("step " + std::to_string(step) + ": non-finite loss");
    engine::StepStats s;
    s.step = step;
    s.lr = epoch;  // the epoch the loop gave, to check it
    s.loss[loss::kTotalLoss] = batch.images.flatten()[0].item<double>();
    s.stop_requested = request_stop;
    return s;
  };
}

}  // namespace

TEST(TrainingLoop, CallsHooksInOrderAroundStepsAndEpochs) {
  CountingSource source(2);
  std::vector<std::string> events;
  std::ostringstream log;
  run::TrainingLoop loop(source, fake_step(), {}, 4, log);
  loop.add(std::make_unique<RecordingHook>(&events, "a:")).add(std::make_unique<RecordingHook>(&events, "b:"));
  const auto outcome = loop.run();

  EXPECT_EQ(source.started_at, 0);
  EXPECT_EQ(source.served, (std::vector<int64_t>{0, 1, 2, 3}));
  ASSERT_EQ(outcome.history.size(), 4u);
  for (int64_t s = 0; s < 4; ++s) {
    EXPECT_DOUBLE_EQ(outcome.history[s].loss[loss::kTotalLoss], static_cast<double>(s));  // the batch of step s
    EXPECT_DOUBLE_EQ(outcome.history[s].lr, s / 2.0);                                      // its fractional epoch
  }
  EXPECT_EQ(outcome.final_step, 4);
  EXPECT_FALSE(outcome.stopped_by_signal);
  const std::vector<std::string> first_epoch = {
      "a:before_train 0", "b:before_train 0", "a:before_epoch 0", "b:before_epoch 0", "a:before_step 0",
      "b:before_step 0",  "a:phase forward 0", "b:phase forward 0", "a:after_step 0 done 1", "b:after_step 0 done 1",
      "a:before_step 1",  "b:before_step 1",  "a:phase forward 1", "b:phase forward 1", "a:after_step 1 done 2",
      "b:after_step 1 done 2", "a:after_epoch 1", "b:after_epoch 1", "a:before_epoch 1", "b:before_epoch 1"};
  ASSERT_GE(events.size(), first_epoch.size());
  EXPECT_EQ(std::vector<std::string>(events.begin(), events.begin() + first_epoch.size()), first_epoch);
  const std::vector<std::string> end = {"a:after_epoch 2", "b:after_epoch 2", "a:after_train final 4",
                                        "b:after_train final 4", "a:phase done 4", "b:phase done 4"};
  EXPECT_EQ(std::vector<std::string>(events.end() - end.size(), events.end()), end);
}

TEST(TrainingLoop, AResumedRunStartsMidEpochAndAStopEndsAfterItsStep) {
  CountingSource source(4);
  std::vector<std::string> events;
  std::ostringstream log;
  run::TrainingOutcome resumed;
  resumed.first_step = 3;
  resumed.best_map = 0.25;
  run::TrainingLoop loop(source, fake_step(), resumed, 12, log);
  auto hook = std::make_unique<RecordingHook>(&events);
  hook->stop_at = 5;
  loop.add(std::move(hook));
  const auto outcome = loop.run();

  EXPECT_EQ(source.started_at, 3);
  EXPECT_EQ(source.served, (std::vector<int64_t>{3, 4, 5}));  // nothing after the stop's step
  EXPECT_TRUE(outcome.stopped_by_signal);
  EXPECT_EQ(outcome.first_step, 3);
  EXPECT_EQ(outcome.final_step, 6);
  EXPECT_DOUBLE_EQ(outcome.best_map, 0.25);
  EXPECT_FALSE(outcome.history[1].stop_requested);
  EXPECT_TRUE(outcome.history[2].stop_requested);
  // No before_epoch for the epoch the resume lands in; one at the boundary.
  EXPECT_EQ(events.front(), "before_train 3");
  EXPECT_EQ(std::count(events.begin(), events.end(), "before_epoch 1"), 1);
  EXPECT_EQ(std::count(events.begin(), events.end(), "before_epoch 0"), 0);
  EXPECT_EQ(events.back(), "phase done 6");
}

TEST(TrainingLoop, ANonFiniteLossTellsTheHooksAndPropagates) {
  CountingSource source(10);
  std::vector<std::string> events;
  std::ostringstream log;
  run::TrainingLoop loop(source, fake_step(2), {}, 10, log);
  loop.add(std::make_unique<RecordingHook>(&events));
  EXPECT_THROW(loop.run(), engine::NonFiniteLossError);
  EXPECT_EQ(events.back(), "non_finite");
  EXPECT_EQ(std::count(events.begin(), events.end(), "after_train final 2"), 0);  // no final checkpoint
}

TEST(TrainingLoop, LogEndsProgressLinesFirst) {
  CountingSource source(1);
  std::vector<std::string> events;
  std::ostringstream log;
  run::TrainingLoop loop(source, fake_step(), {}, 0, log);
  loop.add(std::make_unique<RecordingHook>(&events));
  loop.log() << "a line";
  EXPECT_EQ(events, (std::vector<std::string>{"before_log"}));
  EXPECT_EQ(log.str(), "a line");
}

TEST(TrainLogTsvHook, AResumeAppendsAndKeepsAnOlderLogWithOtherColumnsAside) {
  rfm::testing::TempDir dir;
  const std::string path = dir.str() + "/train_log.tsv";
  auto resume = [&](int64_t first, int64_t total) {
    CountingSource source(10);
    std::ostringstream log;
    run::TrainingOutcome resumed;
    resumed.first_step = first;
    run::TrainingLoop loop(source, fake_step(), resumed, total, log);
    loop.add(std::make_unique<run::TrainLogTsvHook>(path, 1));
    loop.run();
    return log.str();
  };
  auto lines_of = [](const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  // A log an older version wrote: its columns end at "loss" for the total.
  std::ofstream(path) << "step\tepoch\tlr\tloss\tid\n0\t0\t0.03\t9\t1\n";
  const std::string log = resume(3, 5);
  EXPECT_NE(log.find("has other columns; kept as " + path + ".before-step-3"), std::string::npos) << log;
  EXPECT_EQ(lines_of(path + ".before-step-3"), (std::vector<std::string>{"step\tepoch\tlr\tloss\tid", "0\t0\t0.03\t9\t1"}));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], run::train_log_header());
  EXPECT_EQ(lines[1].rfind("3\t0.3\t0.3\t3\t", 0), 0u) << lines[1];  // step, epoch, lr (= epoch here), total
  // Same columns: the next resume appends; the header names every loss term once.
  resume(5, 6);
  lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].rfind("5\t", 0), 0u);
  for (const auto& term : loss::kLossTerms) {
    EXPECT_NE(lines[0].find(std::string("\t") + term.name + "\t"), std::string::npos) << term.name;
  }
}

TEST(BatchSources, RandomIdentitiesGiveEachRankItsRowsOfTheGlobalBatch) {
  engine::RandomIdentityOptions o;
  o.num_identities = 6;
  o.images_per_identity = 2;
  o.height = 8;
  o.width = 4;
  o.ids_per_batch = 2;
  o.per_modality = 2;  // global batch: 2 x (2 + 2) = 8 images
  const auto global = engine::RandomIdentityBatches(o).batch(5);
  for (int rank = 0; rank < 2; ++rank) {
    comm::ProcessPlacement placement;
    placement.rank = rank;
    placement.world_size = 2;
    run::RandomIdentityBatchSource source(o, 0, placement);
    const auto shard = source.next(5);
    const auto rows = torch::arange(rank * 4, rank * 4 + 4, torch::kInt64);
    EXPECT_TRUE(torch::equal(shard.global_rows, rows));
    EXPECT_TRUE(torch::equal(shard.images, global.images.index_select(0, rows)));
    EXPECT_TRUE(torch::equal(shard.labels, global.labels.index_select(0, rows)));
    EXPECT_TRUE(torch::equal(shard.modality, global.modality.index_select(0, rows)));
    EXPECT_EQ(source.steps_per_epoch(), engine::RandomIdentityBatches(o).steps_per_epoch());
    EXPECT_EQ(source.position_after(3), "");
  }
  comm::ProcessPlacement three;
  three.world_size = 3;
  try {
    run::RandomIdentityBatchSource source(o, 7, three);
    FAIL() << "8 images were split over 3 ranks";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a global batch of 8 images cannot be split over 3 ranks"), std::string::npos);
  }
  comm::ProcessPlacement one;
  EXPECT_EQ(run::RandomIdentityBatchSource(o, 7, one).steps_per_epoch(), 7);  // train.steps_per_epoch wins
}
