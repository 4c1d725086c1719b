#pragma once
// oneDNN's single-precision matrix product, declared here because Debian's
// libdnnl2 ships the library LibTorch links but not its headers (dnnl.h).
// The declaration is oneDNN's C API as documented (row-major, `transa` and
// `transb` 'N' or 'T'); CMake defines RFM_HAVE_DNNL_SGEMM and links the
// library only where it found one (trainer/kernels/CMakeLists.txt), so with
// PyTorch's wheels, whose oneDNN is built into LibTorch, nothing here exists
// and the Winograd products go through at::mm.

#include <cstdint>

#ifdef RFM_HAVE_DNNL_SGEMM
extern "C" int dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
#endif
