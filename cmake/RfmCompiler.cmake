# Compiler settings shared by every target of the project.

# ccache: a rebuild after a branch switch or a fresh clone on the same machine
# (CI runs on the submitting machine) reuses earlier object files.  Three
# settings make a clone in another folder hit the same entries:
# - CCACHE_BASEDIR: paths under the source tree enter the key relative;
# - CCACHE_NOHASHDIR: with -g ccache otherwise hashes the working directory
#   (the build folder), so no object of another clone matches: not the
#   precompiled header, and so none of the objects that use it;
# - -ffile-prefix-map: __FILE__ (GoogleTest's and LibTorch's messages) and
#   the debug info name sources relative to the tree, so the preprocessed
#   text is the same in every clone and an object taken from another
#   clone's compile is the same bytes.
# Precompiled headers need the pch_defines/time_macros sloppiness or ccache
# never hits.  The cache stays in ccache's own folder (~/.cache/ccache),
# outside every clone.  Its size limit is raised to 20 GB: LibTorch 2.11's
# precompiled header is 0.8 GB (0.13 GB compressed) per build type, and
# ccache evicts per sixteenth of the cache, so under the default 5 GB one
# sixteenth held two or three such headers, a sanitizer build evicted the
# plain build's header, and then every object that uses it missed.
find_program(RFM_CCACHE ccache)
if(RFM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      "CCACHE_NOHASHDIR=1"
      "CCACHE_MAXSIZE=20G"
      # Each compile's hit or miss, for scripts/ccache-hits to count.
      "CCACHE_STATSLOG=${CMAKE_BINARY_DIR}/ccache-stats.log"
      ${RFM_CCACHE})
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-ffile-prefix-map=${PROJECT_SOURCE_DIR}/=>)
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
# all of them.  The runtime is the one LibTorch itself loads (libgomp.so.1
# from the wheel's lib folder), so the loops run on its threads.  `without` says what
# happens where OpenMP is not found.
function(rfm_source_with_openmp target source without)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON
                                COMPILE_OPTIONS "${OpenMP_CXX_FLAGS}")
    # PyTorch's wheels carry their own libgomp.so.1 beside libtorch: link
    # that one by path (the one the process loads anyway), or CMake finds
    # two libgomp.so.1 and cannot order the programs' run paths.
    set(runtime ${OpenMP_CXX_LIBRARIES})
    if(rfm_torch_lib AND EXISTS ${rfm_torch_lib}/libgomp.so.1)
      set(runtime ${rfm_torch_lib}/libgomp.so.1 Threads::Threads)
    endif()
    target_link_libraries(${target} PRIVATE ${runtime})
  else()
    message(STATUS "rfm: OpenMP not found: ${without}")
  endif()
endfunction()

# Sanitizer builds: -DRFM_SANITIZE=address,undefined (any list -fsanitize=
# takes) instruments every target of the project, the precompiled header
# included.  LibTorch, MPI and protobuf are not instrumented: AddressSanitizer
# still sees their heap (malloc and free are its own) and every access our
# code makes.  UndefinedBehaviorSanitizer stops at the first report, so a
# test that passes has none.  docs/COMMANDS.md "Sanitizer builds".
set(RFM_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined (empty: none)")
if(RFM_SANITIZE)
  add_compile_options(-fsanitize=${RFM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # GCC 12 warns "may be used uninitialized" inside libstdc++'s std::regex
  # (std::function members of its NFA states) once ASan's instrumentation
  # changes what it can prove; the plain build has no such warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
  add_link_options(-fsanitize=${RFM_SANITIZE})
  message(STATUS "rfm: sanitizers: ${RFM_SANITIZE}")
endif()
