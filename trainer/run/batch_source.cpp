#include "trainer/run/batch_source.h"

#include "proto/config_loader.h"
#include "trainer/run/loader_batch_source.h"
#include "trainer/run/random_identity_batch_source.h"

namespace rfm::run {

std::unique_ptr<BatchSource> open_batch_source(config::RunConfig& config, const comm::ProcessPlacement& placement,
                                               bool pin_memory, std::ostream& log) {
  const auto& d = config.data();
  if (d.source() == config::DataConfig::RANDOM_IDENTITIES) {
    engine::RandomIdentityOptions o;
    o.num_identities = config.model().num_classes();
    o.images_per_identity = d.random_images_per_identity();
    o.height = d.height();
    o.width = d.width();
    o.ids_per_batch = d.ids_per_batch();
    o.per_modality = d.images_per_modality();
    o.seed = config.train().seed();
    o.horizontal_flip = d.horizontal_flip();
    return std::make_unique<RandomIdentityBatchSource>(o, config.train().steps_per_epoch(), placement);
  }
  auto source = std::make_unique<LoaderBatchSource>(
      loader::open_training_data(config, placement.rank, placement.world_size, pin_memory, log));
  const auto& set = source->training_set();
  const int64_t classes = set.num_classes();
  if (config.model().num_classes() == 0) {
    config.mutable_model()->set_num_classes(static_cast<int32_t>(classes));
  } else if (config.model().num_classes() != classes) {
    throw config::ConfigError("model.num_classes = " + std::to_string(config.model().num_classes()) + ": " +
                              set.name + " has " + std::to_string(classes) + " training identities; set it to " +
                              std::to_string(classes) + " or 0");
  }
  return source;
}

}  // namespace rfm::run
