# LibTorch: Debian's libtorch-dev (1.13, CPU) by default; any LibTorch 1.13-2.x,
# CUDA builds included, through -DTorch_DIR=<prefix>/share/cmake/Torch.
find_package(Torch REQUIRED)
message(STATUS "rfm: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
# A CUDA LibTorch lists its CUDA libraries (c10_cuda among them) here.
if(TORCH_CUDA_LIBRARIES)
  set(RFM_TORCH_CUDA ON)
else()
  set(RFM_TORCH_CUDA OFF)
endif()

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
