// The command table as `rfm` parses it: each command accepts its own
// options only, repeatable ones in order, numbers checked, and the usage
// texts come from the same declarations.

#include <gtest/gtest.h>

#include <cstdlib>

#include <set>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "launcher/job_launcher.h"

namespace cli = rfm::launcher;

namespace {

const cli::Command& command_named(const std::string& name) {
  for (const auto& c : cli::command_table()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no command " + name);
}

cli::ParsedArguments parse_for(const std::string& name, std::vector<std::string> words) {
  std::vector<char*> argv = {const_cast<char*>("rfm"), const_cast<char*>(name.c_str())};
  for (auto& w : words) argv.push_back(w.data());
  return cli::parse_arguments(command_named(name), static_cast<int>(argv.size()), argv.data(), 2);
}

std::string usage_error_of(const std::string& name, std::vector<std::string> words) {
  try {
    parse_for(name, std::move(words));
  } catch (const cli::UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(CommandLine, TheTableHasEveryCommandOnceWithDistinctOptions) {
  std::set<std::string> names;
  for (const auto& c : cli::command_table()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_FALSE(c.summary.empty()) << c.name;
    EXPECT_TRUE(c.run) << c.name;
    std::set<std::string> flags;
    for (const auto& o : c.options) {
      EXPECT_TRUE(flags.insert(o.flag).second) << c.name << " " << o.flag;
      EXPECT_EQ(o.flag.rfind("--", 0), 0u) << o.flag;
      EXPECT_NE(cli::command_usage(c).find(o.flag + " " + o.value), std::string::npos) << c.name << " " << o.flag;
    }
    EXPECT_NE(cli::general_usage(cli::command_table()).find("  " + c.name + " "), std::string::npos) << c.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"train", "launch", "status", "plot", "check-config", "ltg-preview",
                                          "synthesize", "validate", "pack", "evaluate", "evaluate-features", "grid",
                                          "inspect", "export", "embed", "search", "version"}));
  // Only train blocks the stop signals before threads start.
  for (const auto& c : cli::command_table()) EXPECT_EQ(static_cast<bool>(c.before_threads), c.name == "train") << c.name;
}

TEST(CommandLine, ParsesACommandsOwnOptions) {
  const auto a = parse_for("evaluate", {"--checkpoint", "a.pt", "--set", "x=1", "--checkpoint", "b.pt", "--out", "r"});
  EXPECT_EQ(a.values("--checkpoint"), (std::vector<std::string>{"a.pt", "b.pt"}));
  EXPECT_EQ(a.values("--set"), (std::vector<std::string>{"x=1"}));
  EXPECT_EQ(a.value("--out"), "r");
  EXPECT_EQ(a.value("--export-features", "none"), "none");
  EXPECT_FALSE(a.has("--config"));

  const auto g = parse_for("ltg-preview", {"one.png", "--count", "12", "two.png", "--seed", "18446744073709551615"});
  EXPECT_EQ(g.positional(), (std::vector<std::string>{"one.png", "two.png"}));
  EXPECT_EQ(g.integer("--count", 8), 12);
  EXPECT_EQ(g.unsigned_integer("--seed", 1), 18446744073709551615ull);
  EXPECT_EQ(g.integer("--absent", 8), 8);
}

TEST(CommandLine, RefusesWhatTheCommandDoesNotTake) {
  EXPECT_EQ(usage_error_of("train", {"--count", "3"}), "unknown option --count for train");
  EXPECT_EQ(usage_error_of("inspect", {"--checkpoint", "a", "--checkpoint", "b"}), "--checkpoint given more than once");
  EXPECT_EQ(usage_error_of("check-config", {"stray"}), "check-config takes no argument 'stray'");
  EXPECT_EQ(usage_error_of("launch", {"--np"}), "--np needs a value");
  EXPECT_EQ(usage_error_of("grid", {"expand", "--grid", "g.pbtxt"}), "(accepted)");
  const auto n = parse_for("launch", {"--np", "2x"});
  try {
    n.integer("--np", 0);
    FAIL() << "2x was taken for a number";
  } catch (const cli::UsageError& e) {
    EXPECT_STREQ(e.what(), "--np: not a number: 2x");
  }
  const auto s = parse_for("ltg-preview", {"--seed", "-1"});
  EXPECT_THROW(s.unsigned_integer("--seed", 1), cli::UsageError);
}

// Where `rfm launch`'s supervisor listens: loopback only when mpirun has
// nowhere else to start a rank.
TEST(JobLauncher, RanksStayOnThisNodeWithoutAHostListOrAnAllocation) {
  for (const char* v : {"PBS_JOBID", "LSB_JOBID", "PE_HOSTFILE", "OMPI_MCA_orte_default_hostfile"}) {
    if (std::getenv(v) != nullptr) GTEST_SKIP() << v << " is set here";
  }
  const char* slurm = std::getenv("SLURM_JOB_ID");
  const std::string saved = slurm != nullptr ? slurm : "";
  ::unsetenv("SLURM_JOB_ID");
  EXPECT_TRUE(rfm::launcher::ranks_stay_on_this_node({}));
  EXPECT_TRUE(rfm::launcher::ranks_stay_on_this_node({"--bind-to", "none"}));
  EXPECT_FALSE(rfm::launcher::ranks_stay_on_this_node({"--hostfile", "hosts"}));
  EXPECT_FALSE(rfm::launcher::ranks_stay_on_this_node({"-H", "node1:2,node2:2"}));
  EXPECT_FALSE(rfm::launcher::ranks_stay_on_this_node({"--host=node1,node2"}));
  ::setenv("SLURM_JOB_ID", "4242", 1);
  EXPECT_FALSE(rfm::launcher::ranks_stay_on_this_node({}));
  if (saved.empty()) {
    ::unsetenv("SLURM_JOB_ID");
  } else {
    ::setenv("SLURM_JOB_ID", saved.c_str(), 1);
  }
}
