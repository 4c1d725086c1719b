// rfm evaluate: the dataset's protocols on checkpoints or the untrained model.

#include <iostream>

#include "evaluation/evaluation_job.h"
#include "launcher/commands.h"
#include "proto/config_loader.h"
#include "proto/config_validation.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::launcher {
namespace {

// --config's configuration, or else the first checkpoint's (with the --set
// overrides either way).
config::RunConfig evaluation_config(const ParsedArguments& args) {
  const auto checkpoints = args.values("--checkpoint");
  if (args.has("--config") || checkpoints.empty()) return load_config(args);
  auto config = model_io::read_checkpoint_info(checkpoints.front()).config;
  for (const auto& o : args.values("--set")) config::apply_override(config, o);
  config::materialize_defaults(config);
  config::validate(config);
  return config;
}

}  // namespace

Command evaluate_command() {
  Command c;
  c.name = "evaluate";
  c.summary = "SYSU-MM01 / RegDB / LLCM protocol on data.source's test set: checkpoint(s) or the untrained model";
  c.options = {{"--checkpoint", "FILE",
                "a model checkpoint (several: RegDB trials); without --config its stored configuration is used", true},
               {"--out", "DIR", "report directory (default <train.run_dir>/eval)", false},
               {"--export-features", "DIR", "also write query/gallery .npy, labels and paths", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    evaluation::EvaluationRequest request;
    request.config = evaluation_config(args);
    request.checkpoints = args.values("--checkpoint");
    request.out_dir = args.value("--out");
    request.export_dir = args.value("--export-features");
    evaluation::run_evaluation(request, std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
