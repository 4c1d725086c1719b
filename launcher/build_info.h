#pragma once
// What `rfm version` says about this build: the commit (written at build
// time by cmake/RfmBuildInfo.cmake) and the libraries compiled in.

namespace rfm::launcher {

// `git describe --always --dirty` of the tree that was built.
const char* rfm_commit();

}  // namespace rfm::launcher
