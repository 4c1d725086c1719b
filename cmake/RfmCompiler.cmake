# Compiler settings shared by every target of the project.

# ccache: a rebuild after a branch switch or a fresh clone on the same machine
# (CI runs on the submitting machine) reuses earlier object files.  Precompiled
# headers need the pch_defines/time_macros sloppiness or ccache never hits.
find_program(RFM_CCACHE ccache)
if(RFM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      # Relative paths in the cache key: a clone elsewhere hits the same entries.
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      ${RFM_CCACHE})
  message(STATUS "rfm: compiling through ccache (${RFM_CCACHE})")
endif()

# Warnings for our own code; third-party headers come in as system headers.
set(RFM_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter -Winvalid-pch)

function(rfm_target_defaults target)
  target_compile_options(${target} PRIVATE ${RFM_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
