# LibTorch: PyTorch's own (2.11, built for CUDA 13), from the virtual
# environment scripts/setup installs at RFM_VENV.  The same Python runs
# PyTorch's side of the tests (RFM_PYTHON), so the C++ and the Python agree
# on one torch.  Another LibTorch 2.x: -DCMAKE_PREFIX_PATH=<its share/cmake>
# and -DRFM_PYTHON=<a python with the same torch>.
if(DEFINED ENV{RFM_VENV})
  set(rfm_default_venv $ENV{RFM_VENV})
else()
  set(rfm_default_venv /opt/rfm-cluster/venv)
endif()
set(RFM_VENV ${rfm_default_venv} CACHE PATH "The virtual environment that holds torch (scripts/setup)")
find_program(RFM_PYTHON NAMES python3 python PATHS ${RFM_VENV}/bin NO_DEFAULT_PATH)
if(NOT RFM_PYTHON)
  find_program(RFM_PYTHON NAMES python3)
endif()
if(NOT DEFINED RFM_TORCH_PREFIX)
  execute_process(COMMAND ${RFM_PYTHON} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
                  OUTPUT_VARIABLE rfm_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rfm_torch_found
                  ERROR_QUIET)
  if(NOT rfm_torch_found EQUAL 0)
    message(FATAL_ERROR "rfm: ${RFM_PYTHON} cannot import torch: run scripts/setup (it installs torch==2.11.0 into "
                        "${RFM_VENV}), or pass -DRFM_PYTHON=<a python with torch>")
  endif()
  set(RFM_TORCH_PREFIX ${rfm_torch_prefix} CACHE PATH "Where LibTorch's CMake files are (from RFM_PYTHON's torch)")
endif()
list(PREPEND CMAKE_PREFIX_PATH ${RFM_TORCH_PREFIX})
# Torch's CMake looks its libraries up by name, system folders before its
# own: where a system LibTorch is installed too (Debian's libtorch-dev) it
# would link that one's libtorch.so under this torch's headers.
get_filename_component(rfm_torch_lib ${RFM_TORCH_PREFIX}/../../lib ABSOLUTE)
list(PREPEND CMAKE_LIBRARY_PATH ${rfm_torch_lib})
# Torch's CMake asks nvcc for its own architecture list, compute_50 among
# them, which CUDA 13 refuses; the GPUs this job runs on are A100 and H100.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "8.0;9.0")
endif()
# A CUDA LibTorch compiles CUDA for TORCH_CUDA_ARCH_LIST with flags of its
# own and warns when CMAKE_CUDA_ARCHITECTURES is set too (cmake/RfmCuda.cmake
# sets it for the check that nvcc works); a CPU LibTorch leaves it to us.
set(rfm_cuda_architectures ${CMAKE_CUDA_ARCHITECTURES})
unset(CMAKE_CUDA_ARCHITECTURES)
unset(CMAKE_CUDA_ARCHITECTURES CACHE)
find_package(Torch REQUIRED)
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND rfm_cuda_architectures)
  set(CMAKE_CUDA_ARCHITECTURES ${rfm_cuda_architectures})
endif()
if(Torch_VERSION VERSION_LESS 2.1)
  message(FATAL_ERROR "rfm: LibTorch ${Torch_VERSION} at ${Torch_DIR}: rfm-cluster needs LibTorch 2.1 or later")
endif()
get_filename_component(rfm_torch_library_dir ${TORCH_LIBRARY} DIRECTORY)
if(NOT rfm_torch_library_dir STREQUAL rfm_torch_lib)
  message(FATAL_ERROR "rfm: LibTorch's CMake at ${Torch_DIR} found ${TORCH_LIBRARY}, not its own library in "
                      "${rfm_torch_lib}: clear TORCH_LIBRARY from the cache (or use a fresh build folder)")
endif()
message(STATUS "rfm: LibTorch ${Torch_VERSION} (${TORCH_LIBRARY}); Python ${RFM_PYTHON}")
# A CUDA LibTorch lists its CUDA libraries (c10_cuda among them) here.
if(TORCH_CUDA_LIBRARIES)
  set(RFM_TORCH_CUDA ON)
else()
  set(RFM_TORCH_CUDA OFF)
endif()

# PyTorch's wheels export the std::filesystem functions that their static
# piece of a newer libstdc++ defines, and libtorch.so comes before
# libstdc++.so.6 among a program's libraries, so the dynamic linker binds
# our calls to torch's copies, which crash (remove_all jumps to address 0).
# libstdc++.so.6 first in every link line keeps those calls in the
# system's libstdc++.
add_link_options("LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")

# The torch headers cost ~30 s per translation unit on two cores.  One target
# owns the precompiled header; every torch-using target reuses it, so the
# header is compiled once per build instead of once per target.
add_library(rfm_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
target_link_libraries(rfm_torch_pch PUBLIC ${TORCH_LIBRARIES})
target_precompile_headers(rfm_torch_pch PRIVATE <torch/torch.h> <string> <vector> <memory>)
set_target_properties(rfm_torch_pch PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(rfm_torch_pch PRIVATE ${RFM_WARNINGS})

# Every torch-using target calls this: links torch and reuses the header.
function(rfm_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM rfm_torch_pch)
  get_target_property(kind ${target} TYPE)
  if(kind STREQUAL "EXECUTABLE")
    # The header was compiled with -fPIC; CMake's PIE flag (-fPIE) would make
    # GCC reject it.  -fPIC objects link into a PIE executable all the same.
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  else()
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
endfunction()
