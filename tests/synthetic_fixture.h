#pragma once
// A small synthetic SYSU-MM01 tree for the data tests (seconds to write).

#include <string>

#include "dataset/synthetic/synthetic_dataset.h"
#include "rfm_config.pb.h"

namespace rfm::testing {

inline config::SyntheticConfig small_synthetic(config::SyntheticConfig::Layout layout = config::SyntheticConfig::SYSU_MM01) {
  config::SyntheticConfig o;
  o.set_layout(layout);
  o.set_train_identities(8);
  o.set_test_identities(3);
  o.set_images_per_camera(2);
  o.set_height(64);
  o.set_width(32);
  o.set_seed(11);
  return o;
}

inline config::DataConfig sysu_data(const std::string& root) {
  config::DataConfig d;
  d.set_source(config::DataConfig::SYSU_MM01);
  d.set_root(root);
  d.set_height(64);
  d.set_width(32);
  return d;
}

}  // namespace rfm::testing
