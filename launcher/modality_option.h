#pragma once
// --modality, which embed and search share.

#include <stdexcept>

#include "evaluation/image_search.h"
#include "launcher/command.h"

namespace rfm::launcher {

inline OptionSpec modality_option_spec() {
  return {"--modality", "M", "auto (grey images are infrared; a manifest's column), visible or infrared", false};
}

// The option as the evaluation takes it; a bad value is a usage error.
inline evaluation::ModalityChoice modality_option(const ParsedArguments& args) {
  try {
    return evaluation::parse_modality_choice(args.value("--modality", "auto"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

}  // namespace rfm::launcher
