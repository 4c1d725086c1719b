#include <gtest/gtest.h>

#include <fstream>

#include "proto/config_loader.h"
#include "proto/config_validation.h"
#include "tests/test_paths.h"

using rfm::config::ConfigError;
using rfm::config::RunConfig;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Config, DefaultsAreThePapersSettings) {
  auto c = rfm::config::load_run_config("", {});
  EXPECT_EQ(c.model().depth(), 50);
  EXPECT_EQ(c.model().num_parts(), 12);
  EXPECT_EQ(c.model().last_stride(), 1);
  EXPECT_FLOAT_EQ(c.ltg().probability(), 0.5f);
  EXPECT_FLOAT_EQ(c.ltg().area_min(), 0.02f);
  EXPECT_FLOAT_EQ(c.ltg().area_max(), 0.4f);
  EXPECT_FLOAT_EQ(c.ltg().aspect_min(), 0.3f);
  EXPECT_DOUBLE_EQ(c.ltg().t_min(), 1e-6);
  EXPECT_FLOAT_EQ(c.ltg().beta_a(), 0.5f);
  EXPECT_FLOAT_EQ(c.loss().center_weight(), 3.0f);
  EXPECT_FLOAT_EQ(c.loss().triplet_margin(), 0.3f);
  EXPECT_FLOAT_EQ(c.optimizer().lr(), 0.03f);
  EXPECT_EQ(c.data().ids_per_batch(), 7);
  EXPECT_EQ(c.data().images_per_modality(), 8);
  ASSERT_EQ(c.data().mean_size(), 3);
  EXPECT_FLOAT_EQ(c.data().std(2), 0.225f);
  // Materialised: the printed text states the defaults.
  EXPECT_NE(rfm::config::to_text(c).find("t_min: 1e-06"), std::string::npos);
}

TEST(Config, UnknownFieldNamesFileLineAndColumn) {
  const auto path = write_temp("unknown.pbtxt", "name: \"x\"\nmodel {\n  depth: 50\n  foo: 1\n}\n");
  const auto err = error_of([&] { rfm::config::read_config_file(path); });
  EXPECT_NE(err.find(path + ":4:"), std::string::npos) << err;
  EXPECT_NE(err.find("foo"), std::string::npos) << err;
}

TEST(Config, MalformedTextNamesPosition) {
  const auto path = write_temp("malformed.pbtxt", "model {\n  depth: fifty\n}\n");
  const auto err = error_of([&] { rfm::config::read_config_file(path); });
  EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;
}

TEST(Config, MissingFileIsNamed) {
  const auto err = error_of([] { rfm::config::read_config_file("/nonexistent/run.pbtxt"); });
  EXPECT_EQ(err, "/nonexistent/run.pbtxt: cannot open the configuration file");
}

TEST(Config, OverridesSetScalarsEnumsStringsAndLists) {
  RunConfig c;
  rfm::config::apply_override(c, "ltg.probability=0.7");
  rfm::config::apply_override(c, "model.attention=SPATIAL");
  rfm::config::apply_override(c, "model.pretrained=/tmp/r50.pth");
  rfm::config::apply_override(c, "schedule.milestones=[40, 70]");
  rfm::config::apply_override(c, "schedule.milestones=[30,60,90]");  // replaces, not appends
  EXPECT_FLOAT_EQ(c.ltg().probability(), 0.7f);
  EXPECT_EQ(c.model().attention(), rfm::config::ModelConfig::SPATIAL);
  EXPECT_EQ(c.model().pretrained(), "/tmp/r50.pth");
  ASSERT_EQ(c.schedule().milestones_size(), 3);
  EXPECT_EQ(c.schedule().milestones(2), 90);
}

TEST(Config, OverrideErrorsNameThePath) {
  RunConfig c;
  EXPECT_EQ(error_of([&] { rfm::config::apply_override(c, "model.bar=1"); }),
            "--set model.bar: 'rfm.config.ModelConfig' has no field 'bar'");
  EXPECT_NE(error_of([&] { rfm::config::apply_override(c, "model.depth=abc"); }).find("--set model.depth=abc"),
            std::string::npos);
  EXPECT_NE(error_of([&] { rfm::config::apply_override(c, "model=3"); }).find("is a message"), std::string::npos);
  EXPECT_NE(error_of([&] { rfm::config::apply_override(c, "novalue"); }).find("expected path.to.field=value"),
            std::string::npos);
}

TEST(Config, ValidationNamesFieldAndRange) {
  const auto err = error_of([] {
    rfm::config::load_run_config("", {"ltg.probability=1.5", "ltg.area_min=0.5", "ltg.area_max=0.3",
                                      "model.num_parts=7", "loss.center_weight=-1", "train.device=tpu",
                                      "model.num_classes=5", "data.ids_per_batch=6"});
  });
  EXPECT_NE(err.find("ltg.probability = 1.5: allowed range [0, 1]"), std::string::npos) << err;
  EXPECT_NE(err.find("ltg.area_min = 0.5: must be <= ltg.area_max"), std::string::npos) << err;
  EXPECT_NE(err.find("model.num_parts = 7: must divide the part feature-map height 24"), std::string::npos) << err;
  EXPECT_NE(err.find("loss.center_weight = -1: lambda must be >= 0"), std::string::npos) << err;
  EXPECT_NE(err.find("train.device = \"tpu\""), std::string::npos) << err;
  EXPECT_NE(err.find("data.ids_per_batch = 6: must be <= model.num_classes (5)"), std::string::npos) << err;
}

TEST(Config, PartHeightFollowsThePartSource) {
  auto c = rfm::config::load_run_config("", {});
  EXPECT_EQ(rfm::config::part_feature_height(c.model(), 384), 24);  // block 3, stride 16
  c.mutable_model()->set_attention(rfm::config::ModelConfig::NONE);
  c.mutable_model()->set_last_stride(2);
  EXPECT_EQ(rfm::config::part_feature_height(c.model(), 384), 12);  // layer4 with stride 2
  EXPECT_TRUE(rfm::config::validation_errors(c).empty());
  c.mutable_model()->set_attention(rfm::config::ModelConfig::MAM);
  EXPECT_FALSE(rfm::config::validation_errors(c).empty());  // MAM needs last stride 1
}

TEST(Config, ShippedConfigsAreValid) {
  for (const char* name : {"sysu_mm01.pbtxt", "regdb.pbtxt", "demo_cpu.pbtxt"}) {
    const std::string path = rfm::testing::source_dir() + "/configs/" + name;
    EXPECT_NO_THROW(rfm::config::load_run_config(path, {"data.root=/data"})) << path;
  }
  auto sysu = rfm::config::load_run_config(rfm::testing::source_dir() + "/configs/sysu_mm01.pbtxt", {});
  ASSERT_EQ(sysu.schedule().milestones_size(), 2);
  EXPECT_EQ(sysu.schedule().milestones(0), 40);
  EXPECT_EQ(sysu.schedule().milestones(1), 70);
}
