// rfm embed: features of any images, as a feature directory.

#include <unistd.h>

#include <iostream>

#include "evaluation/image_search.h"
#include "launcher/commands.h"
#include "launcher/modality_option.h"

namespace rfm::launcher {

Command embed_command() {
  Command c;
  c.name = "embed";
  c.summary = "--checkpoint FILE --images DIR|MANIFEST --out DIR: features of any images, as a feature directory";
  c.options = {{"--checkpoint", "FILE", "the model checkpoint", false},
               {"--images", "DIR|FILE", "a folder of images (searched recursively) or a TSV manifest", false},
               {"--out", "DIR", "the feature directory to write", false},
               modality_option_spec(),
               {"--set", "PATH=VALUE", "override one field of the checkpoint's configuration", true}};
  c.run = [](const ParsedArguments& args) {
    if (!args.has("--checkpoint")) throw UsageError("embed needs one --checkpoint FILE");
    if (!args.has("--images")) throw UsageError("embed needs --images DIR|MANIFEST");
    if (!args.has("--out")) throw UsageError("embed needs --out DIR");
    evaluation::EmbedRequest request;
    request.checkpoint = args.value("--checkpoint");
    request.images = args.value("--images");
    request.out_dir = args.value("--out");
    request.modality = modality_option(args);
    request.overrides = args.values("--set");
    request.progress_bar = ::isatty(STDOUT_FILENO) != 0;
    evaluation::run_embed(request, std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
