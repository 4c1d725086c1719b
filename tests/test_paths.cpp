#include "tests/test_paths.h"

namespace rfm::testing {

std::string source_dir() { return RFM_SOURCE_DIR; }
std::string torchvision_fixtures() { return RFM_TORCHVISION_FIXTURES; }
std::string parity_fixtures() { return RFM_PARITY_FIXTURES; }

}  // namespace rfm::testing
