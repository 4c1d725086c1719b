// rfm ltg-preview: images and their LTG outputs in one PNG (Fig. 9).

#include <iostream>

#include <torch/torch.h>

#include "dataset/image_codec.h"
#include "launcher/commands.h"
#include "trainer/augment/ltg_preview.h"
#include "trainer/model_io/config_bridge.h"

namespace rfm::launcher {

Command ltg_preview_command() {
  Command c;
  c.name = "ltg-preview";
  c.summary = "write a PNG grid of images (JPEG, PNG or BMP) and their LTG outputs (Fig. 9)";
  c.positional = "[image ...]";
  c.options = {{"--out", "FILE.png", "the PNG to write", false},
               {"--count", "N", "generated figures when no images are given (default 8)", false},
               {"--seed", "S", "draw seed (default 1)", false}};
  for (const auto& o : config_options()) c.options.push_back(o);
  c.run = [](const ParsedArguments& args) {
    const std::string out = args.value("--out");
    if (out.empty()) throw UsageError("ltg-preview needs --out FILE.png");
    const int64_t count = args.integer("--count", 8);
    if (count < 1 || count > 256) throw UsageError("--count must be in [1, 256]");
    const uint64_t seed = args.unsigned_integer("--seed", 1);
    const auto config = load_config(args);
    const int64_t h = config.data().height(), w = config.data().width();
    std::vector<torch::Tensor> images;
    for (const auto& path : args.positional()) {
      // Any dataset image (JPEG, PNG, BMP) as a [3, H, W] float tensor in [0, 1].
      const auto img = dataset::read_image_file(path);
      auto* pixels = const_cast<uint8_t*>(img.pixels.data());
      images.push_back(torch::from_blob(pixels, {img.height, img.width, 3}, torch::kUInt8)
                           .permute({2, 0, 1})
                           .to(torch::kFloat32)
                           .div(255.0));
    }
    if (images.empty()) {
      for (int64_t i = 0; i < count; ++i) images.push_back(augment::draw_test_figure(seed * 1000 + i, h, w));
    }
    augment::write_ltg_preview(out, images, model_io::ltg_options(config.ltg()), seed, h, w);
    std::cout << "wrote " << out << " (" << images.size() << " inputs over their LTG outputs, " << h << "x" << w
              << ")\n";
    return 0;
  };
  return c;
}

}  // namespace rfm::launcher
