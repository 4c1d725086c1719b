// Hyperparameter grids without Slurm: expansion order and names, the
// grid file's errors, the grid directory, Slurm's --array syntax, and
// collecting hand-written point outcomes into sorted tables.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "grid/grid_directory.h"
#include "grid/grid_results.h"
#include "grid/grid_spec.h"
#include "proto/config_loader.h"
#include "tests/temp_dir.h"

namespace rfm::grid {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class GridTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir.path() / "base.pbtxt", "name: \"b\"\ntrain { epochs: 3 }\nloss { center_weight: 0.5 }\n");
  }
  // A grid file in dir/grids/ over ../base.pbtxt with root under dir.
  std::string grid_file(const std::string& body) {
    const auto path = dir.path() / "grids" / "g.pbtxt";
    write(path, "name: \"g\"\nbase_config: \"../base.pbtxt\"\nroot: \"" + dir.str("runs") + "\"\n" + body);
    return path.string();
  }
  std::string error_of(const std::string& body) {
    try {
      expand_grid(grid_file(body));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  testing::TempDir dir;
};

TEST_F(GridTest, ExpandsTheProductLastAxisFastestWithStableNames) {
  const auto grid = expand_grid(grid_file(
      "set: \"train.epochs=2\"\n"
      "axis { field: \"loss.center_weight\" values: [\"0.5\", \"1\", \"2\"] }\n"
      "axis { field: \"ltg.beta_a\" values: [\"0.3\", \"0.5\"] }\n"));
  ASSERT_EQ(grid.points.size(), 6u);
  EXPECT_EQ(grid.axis_labels, (std::vector<std::string>{"center_weight", "beta_a"}));
  EXPECT_EQ(grid.points[0].name, "center_weight-0.5__beta_a-0.3");
  EXPECT_EQ(grid.points[1].name, "center_weight-0.5__beta_a-0.5");
  EXPECT_EQ(grid.points[5].name, "center_weight-2__beta_a-0.5");
  const auto& p = grid.points[3];  // center_weight 1, beta_a 0.5
  EXPECT_EQ(p.index, 3);
  EXPECT_FLOAT_EQ(p.config.loss().center_weight(), 1.0f);
  EXPECT_FLOAT_EQ(p.config.ltg().beta_a(), 0.5f);
  EXPECT_EQ(p.config.train().epochs(), 2);  // set applies to every point
  EXPECT_EQ(p.run_dir, dir.str("runs") + "/g/center_weight-1__beta_a-0.5");
  EXPECT_EQ(p.config.train().run_dir(), p.run_dir);
  EXPECT_EQ(p.config.metrics().run_id(), "g.center_weight-1__beta_a-0.5");
  // The same file expands to the same points.
  EXPECT_EQ(expand_grid(grid.grid_file).points[3].name, p.name);
}

TEST_F(GridTest, NoAxesIsOnePointAndAlikeLastPartsKeepTheirPaths) {
  EXPECT_EQ(expand_grid(grid_file("")).points.at(0).name, "base");
  const auto grid = expand_grid(grid_file(
      "axis { field: \"synthetic.height\" values: [\"384\"] }\naxis { field: \"data.height\" values: [\"384\"] }\n"));
  EXPECT_EQ(grid.points.at(0).name, "synthetic_height-384__data_height-384");
  EXPECT_EQ(name_safe("[1, 2]"), "_1__2_");
}

TEST_F(GridTest, BadGridFilesAreNamedErrors) {
  EXPECT_NE(error_of("axis { field: \"loss.center_weight\" }").find("axis 1 (loss.center_weight): no values"),
            std::string::npos);
  EXPECT_NE(error_of("axis { field: \"loss.center_weight\" values: [\"1\", \"1\"] }").find("value '1' repeated"),
            std::string::npos);
  EXPECT_NE(error_of("axis { field: \"train.run_dir\" values: [\"x\"] }").find("sets each point's run directory"),
            std::string::npos);
  EXPECT_NE(error_of("axis { field: \"loss.nope\" values: [\"1\"] }").find("point nope-1: --set loss.nope"),
            std::string::npos);
  EXPECT_NE(error_of("axis { field: \"train.epochs\" values: [\"0\", \"2\"] }").find("point epochs-0: "),
            std::string::npos);
  EXPECT_NE(error_of("max_concurrent: 0").find("max_concurrent: 0"), std::string::npos);
  EXPECT_NE(error_of("axis { fied: \"x\" }").find("g.pbtxt:4:"), std::string::npos);  // line of the typo
  write(dir.path() / "grids" / "bad.pbtxt", "name: \"a/b\" base_config: \"../base.pbtxt\"");
  EXPECT_THROW(read_grid_spec(dir.str("grids/bad.pbtxt")), config::ConfigError);
  write(dir.path() / "grids" / "nobase.pbtxt", "name: \"x\" base_config: \"missing.pbtxt\"");
  EXPECT_THROW(expand_grid(dir.str("grids/nobase.pbtxt")), config::ConfigError);
}

TEST(GridArray, RangesInSlurmSyntax) {
  EXPECT_EQ(array_ranges({}), "");
  EXPECT_EQ(array_ranges({3}), "3");
  EXPECT_EQ(array_ranges({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

TEST_F(GridTest, DirectoryListsPointsAndFinishedOnesAreNotPending) {
  const auto grid = expand_grid(grid_file("axis { field: \"loss.center_weight\" values: [\"1\", \"2\", \"3\"] }\n"));
  std::ostringstream log;
  write_grid_directory(grid, log);
  const auto tsv = read(fs::path(grid.directory) / "points.tsv");
  EXPECT_NE(tsv.find("1\tcenter_weight-2\t" + grid.directory + "/configs/center_weight-2.pbtxt\t" +
                     grid.points[1].run_dir + "\n"),
            std::string::npos);
  // The point's config file is a loadable, complete configuration.
  const auto cfg = config::load_run_config(point_config_path(grid, grid.points[1]), {});
  EXPECT_FLOAT_EQ(cfg.loss().center_weight(), 2.0f);
  EXPECT_EQ(cfg.train().run_dir(), grid.points[1].run_dir);

  EXPECT_EQ(unfinished_points(grid), (std::vector<int>{0, 1, 2}));
  write(fs::path(grid.points[1].run_dir) / "grid_status.pbtxt", "state: FINISHED exit_code: 0 job_id: \"7_1\"");
  write(fs::path(grid.points[2].run_dir) / "grid_status.pbtxt", "state: FAILED exit_code: 3 job_id: \"7_2\"");
  EXPECT_EQ(unfinished_points(grid), (std::vector<int>{0, 2}));

  // Renumbering while a point is recorded as running would hand its array
  // task another point's line.
  write(fs::path(grid.points[0].run_dir) / "grid_status.pbtxt", "state: RUNNING job_id: \"7_0\"");
  const auto reordered =
      expand_grid(grid_file("axis { field: \"loss.center_weight\" values: [\"3\", \"2\", \"1\"] }\n"));
  try {
    write_grid_directory(reordered, log);
    FAIL() << "renumbered a running grid";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("center_weight-1 is recorded as running (job 7_0)"), std::string::npos)
        << e.what();
  }
  write(fs::path(grid.points[0].run_dir) / "grid_status.pbtxt", "state: bogus");
  EXPECT_THROW(read_point_status(grid.points[0].run_dir), config::ConfigError);
}

TEST_F(GridTest, CollectSortsFinishedPointsByMapAndShowsTheOthers) {
  const auto grid =
      expand_grid(grid_file("axis { field: \"loss.center_weight\" values: [\"1\", \"2\", \"3\", \"4\"] }\n"));
  const std::string eval_header = "step\tprotocol\trank1\tmap\tminp\n";
  auto run = [&](int i) { return fs::path(grid.points[static_cast<size_t>(i)].run_dir); };
  // Point 0: finished; its last evaluation (step 20) is below its best (step 10).
  write(run(0) / "grid_status.pbtxt", "state: FINISHED exit_code: 0 job_id: \"5_0\" restarts: 1");
  write(run(0) / "eval_log.tsv", eval_header + "10\tA\t50\t40.5\t30\n10\tB\t1\t99\t1\n20\tA\t55\t38.25\t31\n");
  write(run(0) / "train_log.tsv", "step\tloss\n0\t1\n1\t1\n");
  // Point 1: finished with a higher mAP.
  write(run(1) / "grid_status.pbtxt", "state: FINISHED exit_code: 0 job_id: \"5_1\"");
  write(run(1) / "eval_log.tsv", eval_header + "20\tA\t60\t45\t35\n");
  // Point 2: failed.  Point 3: never started.
  write(run(2) / "grid_status.pbtxt", "state: FAILED exit_code: 3 job_id: \"5_2\"");
  const auto results = collect_results(grid);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].point->index, 1);
  EXPECT_EQ(results[1].point->index, 0);
  EXPECT_DOUBLE_EQ(*results[1].map, 38.25);
  EXPECT_DOUBLE_EQ(*results[1].best_map, 40.5);
  EXPECT_EQ(*results[1].best_step, 10);
  EXPECT_EQ(*results[1].eval_step, 20);
  EXPECT_EQ(results[1].steps, 2);
  EXPECT_EQ(results[1].protocol, "A");
  EXPECT_EQ(results[2].state, "FAILED");
  EXPECT_EQ(*results[2].exit_code, 3);
  EXPECT_EQ(results[3].state, "NOT_STARTED");
  EXPECT_FALSE(results[3].exit_code.has_value());

  const auto paths = write_results(grid, results);
  const auto csv = read(paths[0]);
  std::istringstream lines(csv);
  std::string header, first, second, third, fourth;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  std::getline(lines, third);
  std::getline(lines, fourth);
  EXPECT_EQ(header,
            "order,point,center_weight,state,exit_code,map,rank1,minp,eval_step,best_map,best_step,steps,restarts,"
            "job,protocol,run_dir");
  EXPECT_EQ(first, "1,center_weight-2,2,FINISHED,0,45.00,60.00,35.00,20,45.00,20,0,0,5_1,A," + run(1).string());
  EXPECT_EQ(second, "2,center_weight-1,1,FINISHED,0,38.25,55.00,31.00,20,40.50,10,2,1,5_0,A," + run(0).string());
  EXPECT_EQ(third, "3,center_weight-3,3,FAILED,3,,,,,,,0,0,5_2,," + run(2).string());
  EXPECT_EQ(fourth, "4,center_weight-4,4,NOT_STARTED,,,,,,,,0,0,,," + run(3).string());
  EXPECT_NE(read(paths[1]).find("4 points, 2 finished, 1 failed"), std::string::npos);
  EXPECT_EQ(read(paths[2]).substr(1, 3), "PNG");
}

}  // namespace
}  // namespace rfm::grid
