// rfm search: the nearest embedded images to each query.

#include <iostream>

#include "evaluation/image_search.h"
#include "launcher/commands.h"
#include "launcher/modality_option.h"

namespace rfm::launcher {

Command search_command() {
  Command c;
  c.name = "search";
  c.summary = "--features DIR --query IMG... [--top-k K]: the nearest embedded images to each query, printed and "
              "drawn (--out PNG, default DIR/search.png)";
  c.options = {{"--features", "DIR", "rfm embed's feature directory", false},
               {"--query", "IMG", "a query image", true},
               {"--top-k", "K", "gallery images per query (default 10)", false},
               {"--checkpoint", "FILE", "the model (default: the one the features were embedded with)", false},
               {"--out", "PNG", "the picture of the results (default DIR/search.png)", false},
               modality_option_spec(),
               {"--set", "PATH=VALUE", "override one field of the checkpoint's configuration", true}};
  c.run = [](const ParsedArguments& args) {
    if (!args.has("--features")) throw UsageError("search needs one --features DIR");
    if (!args.has("--query")) throw UsageError("search needs --query IMG (repeatable)");
    const int64_t top_k = args.integer("--top-k", 10);
    if (top_k < 1) throw UsageError("--top-k must be at least 1");
    evaluation::SearchRequest request;
    request.features_dir = args.value("--features");
    request.queries = args.values("--query");
    request.top_k = static_cast<int>(top_k);
    request.checkpoint = args.value("--checkpoint");
    request.modality = modality_option(args);
    request.overrides = args.values("--set");
    request.out_png = args.value("--out");
    evaluation::run_search(request, std::cout);
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
