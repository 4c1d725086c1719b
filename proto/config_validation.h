#pragma once
// The one validation of a run's configuration, called by every entry point.

#include <string>
#include <vector>

#include "rfm_config.pb.h"

namespace rfm::config {

// Every violated rule as "field.path = value: allowed range", in field order.
std::vector<std::string> validation_errors(const RunConfig& config);

// Throws ConfigError with one line per violated rule.
void validate(const RunConfig& config);

// Height of the feature map the PCB parts are cut from, for an input height.
int part_feature_height(const ModelConfig& model, int input_height);

}  // namespace rfm::config
