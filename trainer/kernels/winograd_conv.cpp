#include "trainer/kernels/winograd_conv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>


namespace rfm::kernels {
namespace {

// F(m x m, 3x3) works on alpha x alpha input tiles (alpha = m + 2) whose
// origins are m apart.  Its three transforms (Lavin and Gray):
//   input   V = B^T d B    (d: alpha x alpha input tile)
//   weight  U = G g G^T    (g: 3x3 filter)
//   output  Y = A^T M A    (M = U . V elementwise, alpha x alpha; Y: m x m)
// The backward pass applies their adjoints: dd = B dV B^T, dg = G^T dU G,
// dM = A dY A^T.  Each 2-D transform is a 1-D one down the columns and then
// along the rows; the 1-D ones are written out below, since each row of
// the matrices has only a few non-zero terms.  A tile's alpha^2 transformed
// values go to alpha^2 separate matrices (index e = alpha * row + column),
// one per product.

// F(2x2, 3x3): points 0, 1, -1 and infinity.
//   B^T rows [1 0 -1 0] [0 1 1 0] [0 -1 1 0] [0 1 0 -1]
//   G rows   [1 0 0] [1/2 1/2 1/2] [1/2 -1/2 1/2] [0 0 1]
//   A^T rows [1 1 1 0] [0 1 -1 -1]
struct TileF2 {
  static constexpr int m = 2, alpha = 4;
  template <class S>
  static void input(const S* d, S* r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  template <class S>
  static void input_adjoint(const S* x, S* r) {
    r[0] = x[0];
    r[1] = x[1] - x[2] + x[3];
    r[2] = x[1] + x[2] - x[0];
    r[3] = -x[3];
  }
  template <class S>
  static void weight(const S* g, S* r) {
    r[0] = g[0];
    r[1] = 0.5f * (g[0] + g[1] + g[2]);
    r[2] = 0.5f * (g[0] - g[1] + g[2]);
    r[3] = g[2];
  }
  template <class S>
  static void weight_adjoint(const S* x, S* r) {
    r[0] = x[0] + 0.5f * (x[1] + x[2]);
    r[1] = 0.5f * (x[1] - x[2]);
    r[2] = 0.5f * (x[1] + x[2]) + x[3];
  }
  template <class S>
  static void output(const S* x, S* y) {
    y[0] = x[0] + x[1] + x[2];
    y[1] = x[1] - x[2] - x[3];
  }
  template <class S>
  static void output_adjoint(const S* y, S* r) {
    r[0] = y[0];
    r[1] = y[0] + y[1];
    r[2] = y[0] - y[1];
    r[3] = -y[1];
  }
};

// F(4x4, 3x3): points 0, 1, -1, 2, -2 and infinity.  36 products of
// 2.25 multiplications per output where F(2x2) needs 4 and the direct
// convolution 9, and its input tiles overlap less (36 values per 16
// outputs against 16 per 4), so the transforms move less memory too.  The
// larger constants cost accuracy: errors of about 1e-6 to 1e-5 relative
// in float32 where F(2x2) stays under 1e-6 (the tests hold both).
//   B^T rows [4 0 -5 0 1 0] [0 -4 -4 1 1 0] [0 4 -4 -1 1 0]
//            [0 -2 -1 2 1 0] [0 2 -1 -2 1 0] [0 4 0 -5 0 1]
//   G rows   [1/4 0 0] [-1/6 -1/6 -1/6] [-1/6 1/6 -1/6]
//            [1/24 1/12 1/6] [1/24 -1/12 1/6] [0 0 1]
//   A^T rows [1 1 1 1 1 0] [0 1 -1 2 -2 0] [0 1 1 4 4 0] [0 1 -1 8 -8 1]
struct TileF4 {
  static constexpr int m = 4, alpha = 6;
  template <class S>
  static void input(const S* d, S* r) {
    const S a = d[4] - d[2], b = d[3] - d[1];  // shared by rows 3 and 4
    r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    r[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
    r[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
    r[3] = a + 2.0f * b;
    r[4] = a - 2.0f * b;
    r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  template <class S>
  static void input_adjoint(const S* x, S* r) {
    r[0] = 4.0f * x[0];
    r[1] = -4.0f * x[1] + 4.0f * x[2] - 2.0f * x[3] + 2.0f * x[4] + 4.0f * x[5];
    r[2] = -5.0f * x[0] - 4.0f * x[1] - 4.0f * x[2] - x[3] - x[4];
    r[3] = x[1] - x[2] + 2.0f * x[3] - 2.0f * x[4] - 5.0f * x[5];
    r[4] = x[0] + x[1] + x[2] + x[3] + x[4];
    r[5] = x[5];
  }
  template <class S>
  static void weight(const S* g, S* r) {
    const S even = g[0] + g[2], even4 = 0.25f * g[0] + g[2];
    r[0] = 0.25f * g[0];
    r[1] = -(even + g[1]) / 6.0f;
    r[2] = -(even - g[1]) / 6.0f;
    r[3] = (even4 + 0.5f * g[1]) / 6.0f;
    r[4] = (even4 - 0.5f * g[1]) / 6.0f;
    r[5] = g[2];
  }
  template <class S>
  static void weight_adjoint(const S* x, S* r) {
    r[0] = 0.25f * x[0] - (x[1] + x[2]) / 6.0f + (x[3] + x[4]) / 24.0f;
    r[1] = (x[2] - x[1]) / 6.0f + (x[3] - x[4]) / 12.0f;
    r[2] = (x[3] + x[4] - x[1] - x[2]) / 6.0f + x[5];
  }
  template <class S>
  static void output(const S* x, S* y) {
    const S s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
    y[0] = x[0] + s12 + s34;
    y[1] = d12 + 2.0f * d34;
    y[2] = s12 + 4.0f * s34;
    y[3] = d12 + 8.0f * d34 + x[5];
  }
  template <class S>
  static void output_adjoint(const S* y, S* r) {
    const S even = y[0] + y[2], odd = y[1] + y[3];
    const S even4 = y[0] + 4.0f * y[2], odd4 = 2.0f * y[1] + 8.0f * y[3];
    r[0] = y[0];
    r[1] = even + odd;
    r[2] = even - odd;
    r[3] = even4 + odd4;
    r[4] = even4 - odd4;
    r[5] = y[3];
  }
};

// Tiles per plane and their layout in the [alpha^2, channels, N * tiles] matrices.
struct TileGrid {
  int64_t n, h, w, th, tw;
  int64_t tiles() const { return th * tw; }
  int64_t columns() const { return n * tiles(); }
};

TileGrid grid_for(int64_t n, int64_t h, int64_t w, int64_t m) { return {n, h, w, (h + m - 1) / m, (w + m - 1) / m}; }

// Enough planes per task that a task is not dominated by its setup.
int64_t plane_grain(const TileGrid& g) { return std::max<int64_t>(1, 1024 / g.tiles()); }

// The two halves of a 2-D transform of a tile.  column_pass:
// t[i][j] = f(column j)[i] for the tile's Cols columns, whose In values
// at(i, j) reads.  row_pass: f applied to each of t's Rows rows, value j of
// row i's result handed to put(i, j, value).  Everything is unrolled and
// inlined, so the tile stays in registers.
template <int In, int Out, int Cols, class S, class F, class At>
__attribute__((always_inline)) inline void column_pass(F f, At at, S (&t)[Out][Cols]) {
#pragma GCC unroll 6
  for (int j = 0; j < Cols; ++j) {
    S column[In], r[Out];
#pragma GCC unroll 6
    for (int i = 0; i < In; ++i) column[i] = at(i, j);
    f(column, r);
#pragma GCC unroll 6
    for (int i = 0; i < Out; ++i) t[i][j] = r[i];
  }
}

template <int Rows, int In, int Out, class S, class F, class Put>
__attribute__((always_inline)) inline void row_pass(F f, const S (&t)[Rows][In], Put put) {
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    S r[Out];
    f(t[i], r);
#pragma GCC unroll 6
    for (int j = 0; j < Out; ++j) put(i, j, r[j]);
  }
}

// x [N, C, H, W] -> V [alpha^2, C, N * T].
template <class T, class S>
void transform_input(const S* x, S* v, int64_t matrix, int64_t channels, const TileGrid& g) {
  constexpr int a = T::alpha;
  const int64_t cols = g.columns();
  const int64_t pw = T::m * g.tw + 2, ph = T::m * g.th + 2;
  const auto input = [](const S* d, S* r) { T::input(d, r); };
  at::parallel_for(0, g.n * channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<S> pad(static_cast<size_t>(ph * pw), S(0));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / channels, c = plane % channels;
      const S* src = x + plane * g.h * g.w;
      for (int64_t r = 0; r < g.h; ++r) std::copy(src + r * g.w, src + (r + 1) * g.w, pad.data() + (r + 1) * pw + 1);
      S* out = v + c * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const S* d = pad.data() + T::m * (ty * pw + tx);
          S* o = out + ty * g.tw + tx;
          S t[a][a];  // B^T d
          column_pass<a, a, a>(input, [&](int i, int j) { return d[i * pw + j]; }, t);
          row_pass<a, a, a>(input, t, [&](int i, int j, S value) { o[(a * i + j) * matrix] = value; });
        }
      }
    }
  });
}

// dV [alpha^2, C, N * T] -> dx [N, C, H, W]: each tile's B dV B^T added
// back where its window read the (padded) input; windows overlap by 2.
template <class T, class S>
void transform_input_grad(const S* dv, int64_t matrix, S* dx, int64_t channels, const TileGrid& g) {
  constexpr int a = T::alpha;
  const int64_t cols = g.columns();
  const int64_t pw = T::m * g.tw + 2, ph = T::m * g.th + 2;
  const auto adjoint = [](const S* x, S* r) { T::input_adjoint(x, r); };
  at::parallel_for(0, g.n * channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<S> pad(static_cast<size_t>(ph * pw));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / channels, c = plane % channels;
      std::fill(pad.begin(), pad.end(), S(0));
      const S* in = dv + c * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const S* q = in + ty * g.tw + tx;
          S* d = pad.data() + T::m * (ty * pw + tx);
          S t[a][a];  // B dV
          column_pass<a, a, a>(adjoint, [&](int i, int j) { return q[(a * i + j) * matrix]; }, t);
          row_pass<a, a, a>(adjoint, t, [&](int i, int j, S value) { d[i * pw + j] += value; });
        }
      }
      S* dst = dx + plane * g.h * g.w;
      for (int64_t r = 0; r < g.h; ++r) {
        const S* row = pad.data() + (r + 1) * pw + 1;
        std::copy(row, row + g.w, dst + r * g.w);
      }
    }
  });
}

// w [K, C, 3, 3] -> U [alpha^2, K, C].
template <class T, class S>
void transform_weight(const S* w, S* u, int64_t matrix, int64_t filters) {
  constexpr int a = T::alpha;
  const auto weight = [](const S* g, S* r) { T::weight(g, r); };
  at::parallel_for(0, filters, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f) {
      const S* k = w + f * 9;
      S t[a][3];  // G g
      column_pass<3, a, 3>(weight, [&](int i, int j) { return k[3 * i + j]; }, t);
      row_pass<a, 3, a>(weight, t, [&](int i, int j, S value) { u[(a * i + j) * matrix + f] = value; });
    }
  });
}

// dU [alpha^2, K, C] -> dw [K, C, 3, 3]: G^T dU G.
template <class T, class S>
void transform_weight_grad(const S* du, int64_t matrix, S* dw, int64_t filters) {
  constexpr int a = T::alpha;
  const auto adjoint = [](const S* x, S* r) { T::weight_adjoint(x, r); };
  at::parallel_for(0, filters, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f) {
      S* k = dw + f * 9;
      S t[3][a];  // G^T dU
      column_pass<a, 3, a>(adjoint, [&](int i, int j) { return du[(a * i + j) * matrix + f]; }, t);
      row_pass<3, a, 3>(adjoint, t, [&](int i, int j, S value) { k[3 * i + j] = value; });
    }
  });
}

// M [alpha^2, K, N * T] -> y [N, K, H, W]; maps that are not a multiple of
// m drop the last tiles' extra rows/columns.
template <class T, class S>
void transform_output(const S* mm, int64_t matrix, S* y, int64_t filters, const TileGrid& g) {
  constexpr int a = T::alpha, m = T::m;
  const int64_t cols = g.columns();
  const int64_t ow = m * g.tw;
  const bool exact = g.h % m == 0 && g.w % m == 0;
  const auto output = [](const S* x, S* r) { T::output(x, r); };
  at::parallel_for(0, g.n * filters, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<S> full(exact ? 0 : static_cast<size_t>(m * g.th * ow));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / filters, k = plane % filters;
      const S* in = mm + k * cols + n * g.tiles();
      S* dst = y + plane * g.h * g.w;
      S* out = exact ? dst : full.data();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const S* q = in + ty * g.tw + tx;
          S* o = out + m * (ty * ow + tx);
          S t[m][a];  // A^T M
          column_pass<a, m, a>(output, [&](int i, int j) { return q[(a * i + j) * matrix]; }, t);
          row_pass<m, a, m>(output, t, [&](int i, int j, S value) { o[i * ow + j] = value; });
        }
      }
      if (!exact) {
        for (int64_t r = 0; r < g.h; ++r) std::copy(out + r * ow, out + r * ow + g.w, dst + r * g.w);
      }
    }
  });
}

// dy [N, K, H, W] -> dM [alpha^2, K, N * T]: A dY A^T; outside a map that
// is not a multiple of m the tile's gradient is zero.
template <class T, class S>
void transform_output_grad(const S* dy, S* dm, int64_t matrix, int64_t filters, const TileGrid& g) {
  constexpr int a = T::alpha, m = T::m;
  const int64_t cols = g.columns();
  const int64_t ow = m * g.tw;
  const bool exact = g.h % m == 0 && g.w % m == 0;
  const auto adjoint = [](const S* x, S* r) { T::output_adjoint(x, r); };
  at::parallel_for(0, g.n * filters, plane_grain(g), [&](int64_t begin, int64_t end) {
    std::vector<S> full(exact ? 0 : static_cast<size_t>(m * g.th * ow), S(0));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / filters, k = plane % filters;
      const S* src = dy + plane * g.h * g.w;
      if (!exact) {
        for (int64_t r = 0; r < g.h; ++r) std::copy(src + r * g.w, src + (r + 1) * g.w, full.data() + r * ow);
      }
      const S* in = exact ? src : full.data();
      S* out = dm + k * cols + n * g.tiles();
      for (int64_t ty = 0; ty < g.th; ++ty) {
        for (int64_t tx = 0; tx < g.tw; ++tx) {
          const S* p = in + m * (ty * ow + tx);
          S* o = out + ty * g.tw + tx;
          S t[a][m];  // A dY
          column_pass<m, a, m>(adjoint, [&](int i, int j) { return p[i * ow + j]; }, t);
          row_pass<a, m, a>(adjoint, t, [&](int i, int j, S value) { o[(a * i + j) * matrix] = value; });
        }
      }
    }
  });
}

// `count` matrices of rows x cols, each `matrix` floats after the one
// before.  The transforms write (or read) one value to each of them for
// every tile; were the matrices a power of two apart (as 512 x 128 floats
// are), those addresses would share one cache set and evict each other.  A
// 64-byte skew per matrix spreads them over as many sets.
torch::Tensor skewed_matrices(int64_t count, int64_t rows, int64_t cols, const torch::TensorOptions& options) {
  const int64_t matrix = rows * cols + 16;
  return torch::empty({count, matrix}, options).narrow(1, 0, rows * cols).view({count, rows, cols});
}

// out[e] = a[e] @ b[e] for each of the products; `a` and `b` may be
// transposed views.  LibTorch's CPU matrix product (MKL in PyTorch's builds)
// runs single-threaded inside a parallel region.
void product(torch::Tensor o, const torch::Tensor& x, const torch::Tensor& y) { at::mm_out(o, x, y); }

// With a thread count that divides the number of products (16 or 36),
// each thread takes whole products (oneDNN and MKL run single-threaded
// inside a parallel region): no barrier after each product, and one
// thread's product stays in its own core's cache.  Otherwise the threads
// would idle on the last round, so each product is split over all of them
// instead.
void products(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t count = out.size(0);
  const int threads = at::get_num_threads();
  if (threads > 1 && count % threads == 0) {
    at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) product(out.select(0, e), a.select(0, e), b.select(0, e));
    });
  } else {
    for (int64_t e = 0; e < count; ++e) product(out.select(0, e), a.select(0, e), b.select(0, e));
  }
}

template <class T, class S>
class WinogradConv3x3Function : public torch::autograd::Function<WinogradConv3x3Function<T, S>> {
  static constexpr int64_t kMatrices = T::alpha * T::alpha;

 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight) {
    const auto x = input.contiguous();
    const auto w = weight.contiguous();
    const int64_t n = x.size(0), c = x.size(1), k = w.size(0);
    const TileGrid g = grid_for(n, x.size(2), x.size(3), T::m);
    auto v = skewed_matrices(kMatrices, c, g.columns(), x.options());
    auto u = skewed_matrices(kMatrices, k, c, x.options());
    auto m = skewed_matrices(kMatrices, k, g.columns(), x.options());
    transform_input<T, S>(x.data_ptr<S>(), v.data_ptr<S>(), v.stride(0), c, g);
    transform_weight<T, S>(w.data_ptr<S>(), u.data_ptr<S>(), u.stride(0), k * c);
    products(m, u, v);
    auto y = torch::empty({n, k, g.h, g.w}, x.options());
    transform_output<T, S>(m.data_ptr<S>(), m.stride(0), y.data_ptr<S>(), k, g);
    // The transformed operands are what the backward products read; keeping
    // them (4x and 16/9x the input and weight for F(2x2), 2.25x and 4x for
    // F(4x4)) saves transforming again.
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
    const TileGrid g = grid_for(n, shape[2], shape[3], T::m);
    const auto dy = grads[0].contiguous();
    auto dm = skewed_matrices(kMatrices, k, g.columns(), v.options());
    transform_output_grad<T, S>(dy.data_ptr<S>(), dm.data_ptr<S>(), dm.stride(0), k, g);
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      auto dv = skewed_matrices(kMatrices, c, g.columns(), v.options());
      products(dv, u.transpose(1, 2), dm);
      dx = torch::empty({n, c, g.h, g.w}, v.options());
      transform_input_grad<T, S>(dv.data_ptr<S>(), dv.stride(0), dx.data_ptr<S>(), c, g);
    }
    if (ctx->needs_input_grad(1)) {
      auto du = skewed_matrices(kMatrices, k, c, v.options());
      products(du, dm, v.transpose(1, 2));
      dw = torch::empty({k, c, 3, 3}, v.options());
      transform_weight_grad<T, S>(du.data_ptr<S>(), du.stride(0), dw.data_ptr<S>(), k * c);
    }
    return {dx, dw};
  }
};

}  // namespace

torch::Tensor winograd_conv3x3(const torch::Tensor& input, const torch::Tensor& weight, WinogradTile tile) {
  if (input.dim() != 4 || weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3 ||
      weight.size(1) != input.size(1)) {
    throw std::invalid_argument("winograd_conv3x3: needs input [N, C, H, W] and weight [K, C, 3, 3], got " +
                                c10::str(input.sizes()) + " and " + c10::str(weight.sizes()));
  }
  const auto dtype = input.scalar_type();
  if (!input.device().is_cpu() || !weight.device().is_cpu() || (dtype != torch::kFloat && dtype != torch::kDouble) ||
      weight.scalar_type() != dtype) {
    throw std::invalid_argument("winograd_conv3x3: needs float32 or float64 CPU tensors of one dtype");
  }
  if (input.numel() == 0) return torch::conv2d(input, weight, {}, 1, 1);  // no tiles, nothing to multiply
  if (tile == WinogradTile::kAuto) tile = winograd_auto_tile(input.size(0), input.size(2), input.size(3));
  const bool f64 = dtype == torch::kDouble;
  switch (tile) {
    case WinogradTile::kAuto: break;
    case WinogradTile::k2x2:
      return f64 ? WinogradConv3x3Function<TileF2, double>::apply(input, weight)
                 : WinogradConv3x3Function<TileF2, float>::apply(input, weight);
    case WinogradTile::k4x4:
      return f64 ? WinogradConv3x3Function<TileF4, double>::apply(input, weight)
                 : WinogradConv3x3Function<TileF4, float>::apply(input, weight);
  }
  throw std::invalid_argument("winograd_conv3x3: unknown tile " + std::to_string(static_cast<int>(tile)));
}

WinogradTile winograd_auto_tile(int64_t n, int64_t h, int64_t w) {
  return n * ((h + 3) / 4) * ((w + 3) / 4) >= kMinColumnsFor4x4 ? WinogradTile::k4x4 : WinogradTile::k2x2;
}

int winograd_loop_threads() {
  const int threads = at::get_num_threads();
  std::mutex mutex;
  std::set<std::thread::id> seen;
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  return static_cast<int>(seen.size());
}

bool winograd_applicable(const torch::Tensor& input, const torch::Tensor& weight) {
  return input.dim() == 4 && weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
         input.device().is_cpu() && (input.scalar_type() == torch::kFloat || input.scalar_type() == torch::kDouble) &&
         weight.scalar_type() == input.scalar_type() &&
         input.is_contiguous() && input.numel() > 0;
}

}  // namespace rfm::kernels
