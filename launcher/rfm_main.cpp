// rfm: the command-line front of rfm-cluster.
//   rfm train        [--config F] [--set path=value]...
//   rfm check-config [--config F] [--set path=value]...
//   rfm ltg-preview  [--config F] [--set ...] --out grid.png [--count N] [--seed S] [image.png ...]
// Exit codes: 0 success, 1 runtime failure, 2 bad command line or
// configuration, 3 non-finite loss or gradient.

#include <iostream>
#include <string>
#include <vector>

#include "proto/config_loader.h"
#include "trainer/augment/ltg_preview.h"
#include "trainer/augment/png_image.h"
#include "trainer/engine/config_bridge.h"
#include "trainer/engine/trainer.h"
#include "trainer/model/state_dict_file.h"

namespace {

constexpr int kUsageError = 2;
constexpr int kNonFinite = 3;

const char* kUsage =
    "usage: rfm <command> [options]\n"
    "commands:\n"
    "  train          train RFM (this build: on in-memory random identities)\n"
    "  check-config   validate a configuration and print the effective one\n"
    "  ltg-preview    write a PNG grid of images and their LTG outputs (Fig. 9)\n"
    "options:\n"
    "  --config FILE        protobuf text-format run configuration (configs/*.pbtxt)\n"
    "  --set PATH=VALUE     override one field, e.g. --set ltg.probability=0.7 (repeatable)\n"
    "  --out FILE           ltg-preview: output PNG\n"
    "  --count N            ltg-preview: number of generated figures when no images are given (default 8)\n"
    "  --seed S             ltg-preview: draw seed (default 1)\n";

struct Arguments {
  std::string command;
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  int count = 8;
  uint64_t seed = 1;
  std::vector<std::string> inputs;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  if (argc < 2) throw UsageError("missing command");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--config") a.config = value();
      else if (arg == "--set") a.overrides.push_back(value());
      else if (arg == "--out") a.out = value();
      else if (arg == "--count") a.count = std::stoi(value());
      else if (arg == "--seed") a.seed = std::stoull(value());
      else if (arg.rfind("--", 0) == 0) throw UsageError("unknown option " + arg);
      else a.inputs.push_back(arg);
    } catch (const std::logic_error&) {
      throw UsageError(arg + ": not a number: " + argv[i]);
    }
  }
  return a;
}

int ltg_preview(const Arguments& a, const rfm::config::RunConfig& config) {
  if (a.out.empty()) throw UsageError("ltg-preview needs --out FILE.png");
  if (a.count < 1 || a.count > 256) throw UsageError("--count must be in [1, 256]");
  const int64_t h = config.data().height(), w = config.data().width();
  std::vector<torch::Tensor> images;
  for (const auto& path : a.inputs) images.push_back(rfm::augment::read_png_rgb(path));
  if (images.empty()) {
    for (int i = 0; i < a.count; ++i) images.push_back(rfm::augment::draw_test_figure(a.seed * 1000 + i, h, w));
  }
  rfm::augment::write_ltg_preview(a.out, images, rfm::engine::ltg_options(config.ltg()), a.seed, h, w);
  std::cout << "wrote " << a.out << " (" << images.size() << " inputs over their LTG outputs, " << h << "x" << w << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  try {
    args = parse(argc, argv);
    if (args.command == "-h" || args.command == "--help" || args.command == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (args.command != "train" && args.command != "check-config" && args.command != "ltg-preview") {
      throw UsageError("unknown command '" + args.command + "'");
    }
    const auto config = rfm::config::load_run_config(args.config, args.overrides);
    if (args.command == "check-config") {
      std::cout << rfm::config::to_text(config);
      return 0;
    }
    if (args.command == "ltg-preview") return ltg_preview(args, config);
    rfm::engine::run_training(config, std::cout);
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "rfm: " << e.what() << "\n" << kUsage;
    return kUsageError;
  } catch (const rfm::config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return kUsageError;
  } catch (const rfm::engine::NonFiniteLossError& e) {
    std::cerr << "rfm: " << e.what() << "; stopped\n";
    return kNonFinite;
  } catch (const std::exception& e) {
    std::cerr << "rfm: " << e.what() << "\n";
    return 1;
  }
}
