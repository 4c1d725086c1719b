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

# Builds `source` of `target` with OpenMP, outside the precompiled header.
# at::parallel_for is a header template whose `omp parallel` compiles in the
# calling file; the precompiled header, like every other file, is built
# without -fopenmp, and there the pragma is dropped and the whole range runs
# on the calling thread while LibTorch's other intra-op threads spin.  The
# target links the OpenMP runtime only: OpenMP::OpenMP_CXX would put
# -fopenmp on every file of the target and keep the precompiled header from
# all of them.  With Debian's LibTorch the runtime is the one LibTorch
# itself uses, so the loops run on its threads.  `without` says what
# happens where OpenMP is not found.
function(rfm_source_with_openmp target source without)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON
                                COMPILE_OPTIONS "${OpenMP_CXX_FLAGS}")
    target_link_libraries(${target} PRIVATE ${OpenMP_CXX_LIBRARIES})
  else()
    message(STATUS "rfm: OpenMP not found: ${without}")
  endif()
endfunction()
