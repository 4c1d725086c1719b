# Script mode, run at every build (launcher/CMakeLists.txt): writes OUT with
# the commit the tree is at, rewriting it only when that changed, so that a
# build after a commit recompiles one small file and `rfm version` is never
# stale.  cmake -DSOURCE_DIR=<tree> -DOUT=<file.cpp> -P RfmBuildInfo.cmake
execute_process(COMMAND git -C ${SOURCE_DIR} describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE found ERROR_QUIET)
if(NOT found EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown (not built from a git checkout)")
endif()
set(content "// Written by cmake/RfmBuildInfo.cmake at build time.\n#include \"launcher/build_info.h\"\n\nconst char* rfm::launcher::rfm_commit() { return \"${commit}\"; }\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
