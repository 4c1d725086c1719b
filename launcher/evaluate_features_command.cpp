// rfm evaluate-features: the protocols on exported or foreign features.

#include <iostream>

#include "evaluation/evaluation_job.h"
#include "launcher/commands.h"

namespace rfm::launcher {

Command evaluate_features_command() {
  Command c;
  c.name = "evaluate-features";
  c.summary = "the same protocols on exported or foreign features (.npy + labels), no model";
  c.options = {{"--features", "DIR", "a feature directory (several: RegDB trials, pooled)", true},
               {"--dataset", "NAME", "sysu-mm01, regdb or llcm (default: the directory's features.pbtxt)", false},
               {"--image-root", "DIR", "where the paths files' images are (rank lists)", false},
               {"--out", "DIR", "report directory", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    if (!args.has("--features")) throw UsageError("evaluate-features needs --features DIR");
    if (!args.has("--out")) throw UsageError("evaluate-features needs --out DIR");
    const auto config = load_config(args);
    evaluation::FeatureEvaluationRequest request;
    request.feature_dirs = args.values("--features");
    if (args.has("--dataset")) {
      try {
        request.dataset = evaluation::canonical_dataset_name(args.value("--dataset"));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--dataset: ") + e.what());
      }
    }
    request.evaluation = config.evaluation();
    request.image_root = args.value("--image-root");
    request.out_dir = args.value("--out");
    evaluation::run_feature_evaluation(request, std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
