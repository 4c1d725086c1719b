# The CUDA language, where a working CUDA compiler is found, for the kernels
# we write by hand (trainer/augment's LTG kernel).  Enabled here, at the top,
# so that every executable linking such a kernel links whatever folder it is
# in.  The kernels use only the CUDA runtime, so they build against a CPU
# LibTorch too (and then never run: no tensor is on a GPU).
#
# nvcc is taken from -DCMAKE_CUDA_COMPILER, CUDACXX, PATH, or this image's
# /usr/local/cuda/bin.  Whichever it is, check_language first tries it in a
# scratch project: a compiler that cannot build and link a CUDA program (a
# partial pip install, say) leaves the kernels out with a message instead of
# failing the configuration.
option(RFM_WITH_CUDA_KERNELS "Build the hand-written CUDA kernels where a CUDA compiler is found" ON)
set(RFM_HAVE_CUDA_KERNELS OFF)
if(RFM_WITH_CUDA_KERNELS AND NOT RFM_CUDA_COMPILER_WORKS)
  if(CMAKE_CUDA_COMPILER)
    set(ENV{CUDACXX} "${CMAKE_CUDA_COMPILER}")
    unset(CMAKE_CUDA_COMPILER CACHE)
    unset(CMAKE_CUDA_COMPILER)
  elseif(NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    find_program(RFM_NVCC_ON_PATH nvcc)
    if(NOT RFM_NVCC_ON_PATH)
      set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(RFM_CUDA_COMPILER_WORKS ON CACHE INTERNAL "check_language(CUDA) succeeded")
  endif()
endif()
if(RFM_WITH_CUDA_KERNELS AND CMAKE_CUDA_COMPILER)
  # Ampere and Hopper (A100, H100/H200): the GPUs this system runs on, and
  # architectures every CUDA from 11.8 to 13 compiles for.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  set(RFM_HAVE_CUDA_KERNELS ON)
  message(STATUS "rfm: CUDA kernels ON (${CMAKE_CUDA_COMPILER} ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
elseif(RFM_WITH_CUDA_KERNELS)
  message(STATUS "rfm: CUDA kernels OFF: no working CUDA compiler (-DCMAKE_CUDA_COMPILER, CUDACXX, nvcc on PATH "
                 "or /usr/local/cuda/bin); CUDA batches then take LTG's tensor-operation path")
else()
  message(STATUS "rfm: CUDA kernels OFF (RFM_WITH_CUDA_KERNELS=OFF); CUDA batches take LTG's tensor-operation path")
endif()
