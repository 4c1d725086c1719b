#include "trainer/model/winograd_conv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "trainer/model/autocast_scope.h"

#ifdef RFM_HAVE_DNNL_SGEMM
// oneDNN's C API (dnnl.h, row-major); Debian ships the library LibTorch
// links, not its headers.
extern "C" int dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
#endif

namespace rfm::model {
namespace {

// The transforms of F(2x2, 3x3), as in Lavin and Gray:
//   input   V = B^T d B    (d: 4x4 input tile,   B^T rows [1 0 -1 0] [0 1 1 0] [0 -1 1 0] [0 1 0 -1])
//   weight  U = G g G^T    (g: 3x3 filter,       G rows [1 0 0] [1/2 1/2 1/2] [1/2 -1/2 1/2] [0 0 1])
//   output  Y = A^T M A    (M = U . V, 4x4,      A^T rows [1 1 1 0] [0 1 -1 -1])
// The backward pass applies their adjoints: dd = B dV B^T, dg = G^T dU G,
// dM = A dY A^T.  Each is a 1-D transform applied down the columns and
// then along the rows of a tile, written out since each has 2-4 terms.
// A tile's 16 transformed values go to 16 separate matrices (index e =
// 4 * row + column), one per product.

// Tiles per plane and their layout in the [16, channels, N * tiles] matrices.
struct TileGrid {
  int64_t n, h, w, th, tw;
  int64_t tiles() const { return th * tw; }
  int64_t columns() const { return n * tiles(); }
};

TileGrid grid_for(int64_t n, int64_t h, int64_t w) { return {n, h, w, (h + 1) / 2, (w + 1) / 2}; }

// Enough planes per task that a task is not dominated by its setup.
int64_t plane_grain(const TileGrid& g) { return std::max<int64_t>(1, 1024 / g.tiles()); }

// x [N, C, H, W] -> V [16, C, N * T].
void transform_input(const float* x, float* v, int64_t matrix, int64_t channels, const TileGrid& g) {
  const int64_t cols = g.columns();
  const int64_t pw = 2 * g.tw + 2, ph = 2 * g.th + 2;
  at::parallel_for(0, g.n * channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<float> pad(static_cast<size_t>(ph * pw), 0.0f);
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / channels, c = plane % channels;
      const float* src = x + plane * g.h * g.w;
      for (int64_t r = 0; r < g.h; ++r) std::copy(src + r * g.w, src + (r + 1) * g.w, pad.data() + (r + 1) * pw + 1);
      float* out = v + c * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const float* d = pad.data() + 2 * ty * pw + 2 * tx;
          float t[4][4];
          for (int j = 0; j < 4; ++j) {
            const float d0 = d[j], d1 = d[pw + j], d2 = d[2 * pw + j], d3 = d[3 * pw + j];
            t[0][j] = d0 - d2;
            t[1][j] = d1 + d2;
            t[2][j] = d2 - d1;
            t[3][j] = d1 - d3;
          }
          float* o = out + ty * g.tw + tx;
          for (int i = 0; i < 4; ++i) {
            o[(4 * i + 0) * matrix] = t[i][0] - t[i][2];
            o[(4 * i + 1) * matrix] = t[i][1] + t[i][2];
            o[(4 * i + 2) * matrix] = t[i][2] - t[i][1];
            o[(4 * i + 3) * matrix] = t[i][1] - t[i][3];
          }
        }
      }
    }
  });
}

// dV [16, C, N * T] -> dx [N, C, H, W]: each tile's B dV B^T added back
// where its 4x4 window read the (padded) input; windows overlap by 2.
void transform_input_grad(const float* dv, int64_t matrix, float* dx, int64_t channels, const TileGrid& g) {
  const int64_t cols = g.columns();
  const int64_t pw = 2 * g.tw + 2, ph = 2 * g.th + 2;
  at::parallel_for(0, g.n * channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<float> pad(static_cast<size_t>(ph * pw));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / channels, c = plane % channels;
      std::fill(pad.begin(), pad.end(), 0.0f);
      const float* in = dv + c * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const float* q = in + ty * g.tw + tx;
          float t[4][4];
          // Rows: B applied to each row (x0, x1 - x2 + x3, -x0 + x1 + x2, -x3).
          for (int i = 0; i < 4; ++i) {
            const float x0 = q[(4 * i + 0) * matrix], x1 = q[(4 * i + 1) * matrix];
            const float x2 = q[(4 * i + 2) * matrix], x3 = q[(4 * i + 3) * matrix];
            t[i][0] = x0;
            t[i][1] = x1 - x2 + x3;
            t[i][2] = x1 + x2 - x0;
            t[i][3] = -x3;
          }
          float* d = pad.data() + 2 * ty * pw + 2 * tx;
          for (int j = 0; j < 4; ++j) {
            d[j] += t[0][j];
            d[pw + j] += t[1][j] - t[2][j] + t[3][j];
            d[2 * pw + j] += t[1][j] + t[2][j] - t[0][j];
            d[3 * pw + j] -= t[3][j];
          }
        }
      }
      float* dst = dx + plane * g.h * g.w;
      for (int64_t r = 0; r < g.h; ++r) {
        const float* row = pad.data() + (r + 1) * pw + 1;
        std::copy(row, row + g.w, dst + r * g.w);
      }
    }
  });
}

// w [K, C, 3, 3] -> U [16, K, C].
void transform_weight(const float* w, float* u, int64_t matrix, int64_t filters) {
  at::parallel_for(0, filters, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f) {
      const float* k = w + f * 9;
      float r[4][3];
      for (int j = 0; j < 3; ++j) {
        const float g0 = k[j], g1 = k[3 + j], g2 = k[6 + j];
        r[0][j] = g0;
        r[1][j] = 0.5f * (g0 + g1 + g2);
        r[2][j] = 0.5f * (g0 - g1 + g2);
        r[3][j] = g2;
      }
      for (int i = 0; i < 4; ++i) {
        u[(4 * i + 0) * matrix + f] = r[i][0];
        u[(4 * i + 1) * matrix + f] = 0.5f * (r[i][0] + r[i][1] + r[i][2]);
        u[(4 * i + 2) * matrix + f] = 0.5f * (r[i][0] - r[i][1] + r[i][2]);
        u[(4 * i + 3) * matrix + f] = r[i][2];
      }
    }
  });
}

// dU [16, K, C] -> dw [K, C, 3, 3]: G^T dU G, G^T x = (x0 + (x1 + x2)/2, (x1 - x2)/2, (x1 + x2)/2 + x3).
void transform_weight_grad(const float* du, int64_t matrix, float* dw, int64_t filters) {
  at::parallel_for(0, filters, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f) {
      float r[4][3];
      for (int i = 0; i < 4; ++i) {
        const float x0 = du[(4 * i + 0) * matrix + f], x1 = du[(4 * i + 1) * matrix + f];
        const float x2 = du[(4 * i + 2) * matrix + f], x3 = du[(4 * i + 3) * matrix + f];
        r[i][0] = x0 + 0.5f * (x1 + x2);
        r[i][1] = 0.5f * (x1 - x2);
        r[i][2] = 0.5f * (x1 + x2) + x3;
      }
      float* k = dw + f * 9;
      for (int j = 0; j < 3; ++j) {
        k[j] = r[0][j] + 0.5f * (r[1][j] + r[2][j]);
        k[3 + j] = 0.5f * (r[1][j] - r[2][j]);
        k[6 + j] = 0.5f * (r[1][j] + r[2][j]) + r[3][j];
      }
    }
  });
}

// M [16, K, N * T] -> y [N, K, H, W]; odd sizes drop the tiles' last row/column.
void transform_output(const float* m, int64_t matrix, float* y, int64_t filters, const TileGrid& g) {
  const int64_t cols = g.columns();
  const int64_t ow = 2 * g.tw;
  const bool exact = g.h % 2 == 0 && g.w % 2 == 0;
  at::parallel_for(0, g.n * filters, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<float> full(exact ? 0 : static_cast<size_t>(2 * g.th * ow));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / filters, k = plane % filters;
      const float* in = m + k * cols + n * g.tiles();
      float* dst = y + plane * g.h * g.w;
      float* out = exact ? dst : full.data();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const float* q = in + ty * g.tw + tx;
          float t0[4], t1[4];
          for (int j = 0; j < 4; ++j) {
            const float m0 = q[j * matrix], m1 = q[(4 + j) * matrix];
            const float m2 = q[(8 + j) * matrix], m3 = q[(12 + j) * matrix];
            t0[j] = m0 + m1 + m2;
            t1[j] = m1 - m2 - m3;
          }
          float* o = out + 2 * ty * ow + 2 * tx;
          o[0] = t0[0] + t0[1] + t0[2];
          o[1] = t0[1] - t0[2] - t0[3];
          o[ow] = t1[0] + t1[1] + t1[2];
          o[ow + 1] = t1[1] - t1[2] - t1[3];
        }
      }
      if (!exact) {
        for (int64_t r = 0; r < g.h; ++r) std::copy(out + r * ow, out + r * ow + g.w, dst + r * g.w);
      }
    }
  });
}

// dy [N, K, H, W] -> dM [16, K, N * T]: A dY A^T, A x = (x0, x0 + x1, x0 - x1, -x1);
// outside an odd-sized map the tile's gradient is zero.
void transform_output_grad(const float* dy, float* dm, int64_t matrix, int64_t filters, const TileGrid& g) {
  const int64_t cols = g.columns();
  const int64_t ow = 2 * g.tw;
  const bool exact = g.h % 2 == 0 && g.w % 2 == 0;
  at::parallel_for(0, g.n * filters, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<float> full(exact ? 0 : static_cast<size_t>(2 * g.th * ow), 0.0f);
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / filters, k = plane % filters;
      const float* src = dy + plane * g.h * g.w;
      if (!exact) {
        for (int64_t r = 0; r < g.h; ++r) std::copy(src + r * g.w, src + (r + 1) * g.w, full.data() + r * ow);
      }
      const float* in = exact ? src : full.data();
      float* out = dm + k * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const float* p = in + 2 * ty * ow + 2 * tx;
          const float y00 = p[0], y01 = p[1], y10 = p[ow], y11 = p[ow + 1];
          // Columns first: A applied to (y0j, y1j) for j = 0, 1.
          const float r[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};
          float* o = out + ty * g.tw + tx;
          for (int i = 0; i < 4; ++i) {
            o[(4 * i + 0) * matrix] = r[i][0];
            o[(4 * i + 1) * matrix] = r[i][0] + r[i][1];
            o[(4 * i + 2) * matrix] = r[i][0] - r[i][1];
            o[(4 * i + 3) * matrix] = -r[i][1];
          }
        }
      }
    }
  });
}

// 16 matrices of rows x cols, each `matrix` floats after the one before.
// The transforms write (or read) one value to each of the 16 for every
// tile; were the matrices a power of two apart (as 512 x 128 floats are),
// those 16 addresses would share one cache set and evict each other.  A
// 64-byte skew per matrix spreads them over 16 sets.
torch::Tensor skewed_matrices(int64_t rows, int64_t cols, const torch::TensorOptions& options) {
  const int64_t matrix = rows * cols + 16;
  return torch::empty({16, matrix}, options).narrow(1, 0, rows * cols).view({16, rows, cols});
}

#ifdef RFM_HAVE_DNNL_SGEMM
// A 2-D view as a row-major sgemm operand: 'N' and its row stride, or 'T'
// and its column stride (a transposed view).
struct SgemmOperand {
  char trans;
  int64_t ld;
};

SgemmOperand sgemm_operand(const torch::Tensor& m) {
  if (m.stride(1) == 1 || m.size(1) == 1) return {'N', std::max(m.stride(0), m.size(1))};
  return {'T', std::max(m.stride(1), m.size(0))};
}
#endif

// out[e] = a[e] @ b[e] for the 16 products; `a` and `b` may be transposed
// views.  Where oneDNN's sgemm is linked it does them: it threads on the
// OpenMP pool that LibTorch's kernels use.  OpenBLAS (Debian's BLAS, which
// at::mm calls) keeps a pthread pool of its own, whose threads then share
// the cores with OpenMP workers still spinning after the transforms: the
// same 512-channel layer took 74 ms that way against 53 ms with oneDNN's
// (docs/PERFORMANCE.md, section 3).
void product(torch::Tensor o, const torch::Tensor& x, const torch::Tensor& y) {
#ifdef RFM_HAVE_DNNL_SGEMM
  const SgemmOperand p = sgemm_operand(x), q = sgemm_operand(y);
  const int status = dnnl_sgemm(p.trans, q.trans, o.size(0), o.size(1), x.size(1), 1.0f, x.data_ptr<float>(), p.ld,
                                y.data_ptr<float>(), q.ld, 0.0f, o.data_ptr<float>(), o.stride(0));
  if (status != 0) {
    throw std::runtime_error("winograd_conv3x3: oneDNN's sgemm failed with status " + std::to_string(status));
  }
#else
  at::mm_out(o, x, y);
#endif
}

// With a thread count that divides 16, each thread takes whole products
// (oneDNN and MKL run single-threaded inside a parallel region): no
// barrier after each product, and one thread's product stays in its own
// core's cache.  Otherwise the threads would idle on the last round, so
// each product is split over all of them instead.
void products(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  const int threads = at::get_num_threads();
  if (threads > 1 && 16 % threads == 0) {
    at::parallel_for(0, 16, 1, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) product(out.select(0, e), a.select(0, e), b.select(0, e));
    });
  } else {
    for (int64_t e = 0; e < 16; ++e) product(out.select(0, e), a.select(0, e), b.select(0, e));
  }
}

class WinogradConv3x3Function : public torch::autograd::Function<WinogradConv3x3Function> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight) {
    const auto x = input.contiguous();
    const auto w = weight.contiguous();
    const int64_t n = x.size(0), c = x.size(1), k = w.size(0);
    const TileGrid g = grid_for(n, x.size(2), x.size(3));
    auto v = skewed_matrices(c, g.columns(), x.options());
    auto u = skewed_matrices(k, c, x.options());
    auto m = skewed_matrices(k, g.columns(), x.options());
    transform_input(x.data_ptr<float>(), v.data_ptr<float>(), v.stride(0), c, g);
    transform_weight(w.data_ptr<float>(), u.data_ptr<float>(), u.stride(0), k * c);
    products(m, u, v);
    auto y = torch::empty({n, k, g.h, g.w}, x.options());
    transform_output(m.data_ptr<float>(), m.stride(0), y.data_ptr<float>(), k, g);
    // The transformed operands are what the backward products read; keeping
    // them (4x and 16/9x the input and weight) saves transforming again.
    ctx->saved_data["v"] = v;
    ctx->saved_data["u"] = u;
    ctx->saved_data["shape"] = std::vector<int64_t>{n, c, g.h, g.w, k};
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto v = ctx->saved_data["v"].toTensor();
    const auto u = ctx->saved_data["u"].toTensor();
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t n = shape[0], c = shape[1], k = shape[4];
    const TileGrid g = grid_for(n, shape[2], shape[3]);
    const auto dy = grads[0].contiguous();
    auto dm = skewed_matrices(k, g.columns(), v.options());
    transform_output_grad(dy.data_ptr<float>(), dm.data_ptr<float>(), dm.stride(0), k, g);
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      auto dv = skewed_matrices(c, g.columns(), v.options());
      products(dv, u.transpose(1, 2), dm);
      dx = torch::empty({n, c, g.h, g.w}, v.options());
      transform_input_grad(dv.data_ptr<float>(), dv.stride(0), dx.data_ptr<float>(), c, g);
    }
    if (ctx->needs_input_grad(1)) {
      auto du = skewed_matrices(k, c, v.options());
      products(du, dm, v.transpose(1, 2));
      dw = torch::empty({k, c, 3, 3}, v.options());
      transform_weight_grad(du.data_ptr<float>(), du.stride(0), dw.data_ptr<float>(), k * c);
    }
    return {dx, dw};
  }
};

}  // namespace

torch::Tensor winograd_conv3x3(const torch::Tensor& input, const torch::Tensor& weight) {
  if (input.dim() != 4 || weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3 ||
      weight.size(1) != input.size(1)) {
    throw std::invalid_argument("winograd_conv3x3: needs input [N, C, H, W] and weight [K, C, 3, 3], got " +
                                c10::str(input.sizes()) + " and " + c10::str(weight.sizes()));
  }
  if (!input.device().is_cpu() || !weight.device().is_cpu() || input.scalar_type() != torch::kFloat ||
      weight.scalar_type() != torch::kFloat) {
    throw std::invalid_argument("winograd_conv3x3: needs float32 CPU tensors");
  }
  if (input.numel() == 0) return torch::conv2d(input, weight, {}, 1, 1);  // no tiles, nothing to multiply
  return WinogradConv3x3Function::apply(input, weight);
}

bool winograd_applicable(const torch::Tensor& input, const torch::Tensor& weight) {
  return input.dim() == 4 && weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
         input.device().is_cpu() && input.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
         input.is_contiguous() && input.numel() > 0 && !autocast_enabled(c10::DeviceType::CPU);
}

}  // namespace rfm::model
