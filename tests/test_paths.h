#pragma once
// Where this build's tree and test fixtures are.  The paths are compiled into
// test_paths.cpp alone: a test source that spelled them itself would differ
// between two clones of the tree, and ccache could then reuse none of its
// objects from the other clone's build.

#include <string>

namespace rfm::testing {

std::string source_dir();             // the source tree (configs/, tests/)
std::string torchvision_fixtures();   // make_torchvision_reference.py's output
std::string parity_fixtures();        // torch_parity_reference.py's output

}  // namespace rfm::testing
