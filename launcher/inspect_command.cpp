// rfm inspect: what a checkpoint holds.  Two checkpoints with one weights
// digest hold the same model bit for bit, whatever else differs (such as
// the run directory in their config).

#include <iostream>

#include "launcher/commands.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::launcher {

Command inspect_command() {
  Command c;
  c.name = "inspect";
  c.summary = "--checkpoint FILE: its step, configuration hash and a digest of its weights";
  c.options = {{"--checkpoint", "FILE", "the model checkpoint", false}};
  c.run = [](const ParsedArguments& args) {
    if (!args.has("--checkpoint")) throw UsageError("inspect needs one --checkpoint FILE");
    const std::string path = args.value("--checkpoint");
    const auto info = model_io::read_checkpoint_info(path);
    model::RfmModel model(model_io::model_options(info.config));
    model_io::load_model_weights(path, model);
    int64_t values = 0;
    for (const auto& p : model->parameters()) values += p.numel();
    std::cout << "checkpoint: " << path << "\nstep: " << info.step << "\nepoch: " << info.epoch
              << "\nconfig_hash: " << info.config_hash
              << "\ntraining_state: " << (info.has_training_state ? "yes" : "no") << "\nparameters: " << values
              << "\nweights_digest: " << model_io::weights_digest(*model) << "\n";
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
