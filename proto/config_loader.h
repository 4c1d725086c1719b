#pragma once
// Reading a run's configuration: protobuf text format plus `--set` overrides.

#include <stdexcept>
#include <string>
#include <vector>

#include "rfm_config.pb.h"

namespace rfm::config {

// Every configuration problem: the message names the file, line and column,
// or the field path and its allowed range.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses any message's text format into `message`; `source` names the text
// in errors ("file:line:col: ...").  Throws ConfigError.
void parse_text_format(const std::string& text, const std::string& source, google::protobuf::Message* message);

// Parses text format; `source` names the text in errors ("file:line:col: ...").
RunConfig parse_config_text(const std::string& text, const std::string& source);

// Reads and parses a .pbtxt file.
RunConfig read_config_file(const std::string& path);

// Applies one "path.to.field=value" override.  Scalars are replaced; a
// repeated field is replaced by "[v1, v2]" or a single value.  Enum values
// are given by name, strings with or without quotes.
void apply_override(RunConfig& config, const std::string& assignment);

// Fields that moved to another section keep their old names so that older
// configs and checkpoints still read; this moves each one that is set to its
// new place (train.winograd_min_channels and train.winograd_tile to
// cpu_kernels) and clears the old one.  Returns one warning line per field
// moved.  Throws ConfigError when both places are set to different values.
std::vector<std::string> upgrade_moved_fields(RunConfig& config);

// Makes every default explicit (so the printed config is the effective one)
// and fills the defaults proto2 cannot express (repeated mean and std).
void materialize_defaults(RunConfig& config);

// What every entry point calls: file (or defaults when `path` is empty),
// overrides in order, upgrade_moved_fields() (its warnings to stderr),
// materialize_defaults(), then validate().  Throws ConfigError.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// The effective configuration as text format (what a run directory stores).
std::string to_text(const RunConfig& config);

}  // namespace rfm::config
