// The matmul of a Tensix core, emulated (docs/numerics.md, "Matmul"):
// - operands as stored, truncated to the 19-bit source registers (in0 = x -> SrcB,
//   in1 = weights -> SrcA);
// - the phases of the math fidelity, as at most two products of masked operands
//   (numerics::fidelity_operands);
// - each 32-deep K tile summed in fp32 (fused multiply-adds, k in order), then added to
//   the destination, which rounds to TF32 (ties away from zero) unless fp32_dest_acc_en;
// - bias added in the destination, the activation applied in fp32, the result narrowed
//   to bfloat16 (ties away) in the 16-bit mode; the caller converts to the output dtype.
// The work runs per tile column: its masked weight parts are built once (a K x 32 panel
// per thread) and reused by every row. The same fused multiply-adds in the same order
// run at every ISA level, so the values do not depend on the host.
#include <algorithm>
#include <cmath>
#include <cstring>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "ops/matmul/matmul_internal.hpp"
#include "ops/numerics/ttnn_numerics.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops::matmul_detail {
namespace {

namespace nm = numerics;

struct ColumnArgs {
  const RunInputs* in = nullptr;
  const float* b1 = nullptr;  // x parts: rows x kpad
  const float* b2 = nullptr;  // HiFi3's SrcB low parts, or null
  const float* a1 = nullptr;  // weight parts of one tile column: kpad x 32
  const float* a2 = nullptr;
  int64_t tn = 0;
  bool fp32_acc = false;
};

// The destination of rows [r, r + kRows) of one tile column after the K loop:
// out[i][0..32). Each lane runs the same fused multiply-adds in the same order at every
// ISA level; the SIMD versions only run lanes (and rows) side by side.
template <int kRows>
[[gnu::always_inline]] inline void k_loop_scalar(const ColumnArgs& c, int64_t r, float (*out)[32]) {
  const int64_t kpad = c.in->kpad;
  for (int i = 0; i < kRows; ++i) {
    const float* x1 = c.b1 + (r + i) * kpad;
    const float* x2 = c.b2 ? c.b2 + (r + i) * kpad : nullptr;
    float acc[32] = {};
    for (int64_t t0 = 0; t0 < kpad; t0 += 32) {
      float p[32] = {};
      for (int64_t kk = t0; kk < t0 + 32; ++kk) {
        for (int j = 0; j < 32; ++j) p[j] = std::fma(x1[kk], c.a1[kk * 32 + j], p[j]);
        if (x2) {
          for (int j = 0; j < 32; ++j) p[j] = std::fma(x2[kk], c.a2[kk * 32 + j], p[j]);
        }
      }
      for (int j = 0; j < 32; ++j) acc[j] = nm::round_dest(acc[j] + p[j], c.fp32_acc);
    }
    std::memcpy(out[i], acc, sizeof(acc));
  }
}

#define TTT_TENSIX_AVX2 __attribute__((target("avx2,fma")))
#define TTT_TENSIX_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

TTT_TENSIX_AVX512 inline __m512 round_dest_avx512(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_set1_epi32(0x1000)),
                                     _mm512_set1_epi32(static_cast<int>(0xFFFFE000u)));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_castsi512_ps(r), v);
}

TTT_TENSIX_AVX2 inline __m256 round_dest_avx2(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i r = _mm256_and_si256(_mm256_add_epi32(u, _mm256_set1_epi32(0x1000)),
                                     _mm256_set1_epi32(static_cast<int>(0xFFFFE000u)));
  return _mm256_blendv_ps(_mm256_castsi256_ps(r), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

// kRows rows x 32 lanes: 2 * kRows independent chains of 16.
template <int kRows>
TTT_TENSIX_AVX512 inline void k_loop_avx512(const ColumnArgs& c, int64_t r, float (*out)[32]) {
  const int64_t kpad = c.in->kpad;
  __m512 acc[kRows][2];
  for (auto& a : acc) a[0] = a[1] = _mm512_setzero_ps();
  for (int64_t t0 = 0; t0 < kpad; t0 += 32) {
    __m512 p[kRows][2];
    for (auto& q : p) q[0] = q[1] = _mm512_setzero_ps();
    for (int64_t kk = t0; kk < t0 + 32; ++kk) {
      const __m512 w0 = _mm512_loadu_ps(c.a1 + kk * 32), w1 = _mm512_loadu_ps(c.a1 + kk * 32 + 16);
      for (int i = 0; i < kRows; ++i) {
        const __m512 xv = _mm512_set1_ps(c.b1[(r + i) * kpad + kk]);
        p[i][0] = _mm512_fmadd_ps(xv, w0, p[i][0]);
        p[i][1] = _mm512_fmadd_ps(xv, w1, p[i][1]);
      }
      if (c.b2) {
        const __m512 v0 = _mm512_loadu_ps(c.a2 + kk * 32), v1 = _mm512_loadu_ps(c.a2 + kk * 32 + 16);
        for (int i = 0; i < kRows; ++i) {
          const __m512 xl = _mm512_set1_ps(c.b2[(r + i) * kpad + kk]);
          p[i][0] = _mm512_fmadd_ps(xl, v0, p[i][0]);
          p[i][1] = _mm512_fmadd_ps(xl, v1, p[i][1]);
        }
      }
    }
    for (int i = 0; i < kRows; ++i) {
      for (int h = 0; h < 2; ++h) {
        const __m512 s = _mm512_add_ps(acc[i][h], p[i][h]);
        acc[i][h] = c.fp32_acc ? s : round_dest_avx512(s);
      }
    }
  }
  for (int i = 0; i < kRows; ++i) {
    _mm512_storeu_ps(out[i], acc[i][0]);
    _mm512_storeu_ps(out[i] + 16, acc[i][1]);
  }
}

template <int kRows>
TTT_TENSIX_AVX2 inline void k_loop_avx2(const ColumnArgs& c, int64_t r, float (*out)[32]) {
  const int64_t kpad = c.in->kpad;
  __m256 acc[kRows][4];
  for (auto& a : acc)
    for (auto& v : a) v = _mm256_setzero_ps();
  for (int64_t t0 = 0; t0 < kpad; t0 += 32) {
    __m256 p[kRows][4];
    for (auto& q : p)
      for (auto& v : q) v = _mm256_setzero_ps();
    for (int64_t kk = t0; kk < t0 + 32; ++kk) {
      for (int i = 0; i < kRows; ++i) {
        const __m256 xv = _mm256_set1_ps(c.b1[(r + i) * kpad + kk]);
        for (int q = 0; q < 4; ++q) p[i][q] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(c.a1 + kk * 32 + q * 8), p[i][q]);
        if (c.b2) {
          const __m256 xl = _mm256_set1_ps(c.b2[(r + i) * kpad + kk]);
          for (int q = 0; q < 4; ++q) p[i][q] = _mm256_fmadd_ps(xl, _mm256_loadu_ps(c.a2 + kk * 32 + q * 8), p[i][q]);
        }
      }
    }
    for (int i = 0; i < kRows; ++i) {
      for (int q = 0; q < 4; ++q) {
        const __m256 s = _mm256_add_ps(acc[i][q], p[i][q]);
        acc[i][q] = c.fp32_acc ? s : round_dest_avx2(s);
      }
    }
  }
  for (int i = 0; i < kRows; ++i)
    for (int q = 0; q < 4; ++q) _mm256_storeu_ps(out[i] + q * 8, acc[i][q]);
}

// Bias, activation and narrowing of one row of a tile column (32 lanes of dest).
void finish_row(const ColumnArgs& c, int64_t r, const float* dest) {
  const RunInputs& in = *c.in;
  const int64_t n = in.dims->n;
  for (int j = 0; j < 32 && c.tn * 32 + j < n; ++j) {
    const int64_t col = c.tn * 32 + j;
    float v = dest[j];
    if (in.bias) v = nm::round_dest(v + in.bias[col], c.fp32_acc);
    v = activation_ref(in.activation, v);
    in.y[r * n + col] = nm::narrow_dest(v, c.fp32_acc);
  }
}

// Rows two at a time (four independent chains in the SIMD versions).
#define TTT_TENSIX_COLUMN(name, attr, loop)          \
  attr void name(const ColumnArgs& c) {                \
    const int64_t rows = c.in->dims->rows;             \
    float dest[2][32];                                 \
    int64_t r = 0;                                     \
    for (; r + 2 <= rows; r += 2) {                    \
      loop<2>(c, r, dest);                             \
      finish_row(c, r, dest[0]);                       \
      finish_row(c, r + 1, dest[1]);                   \
    }                                                  \
    if (r < rows) {                                    \
      loop<1>(c, r, dest);                             \
      finish_row(c, r, dest[0]);                       \
    }                                                  \
  }

TTT_TENSIX_COLUMN(tile_column_scalar, , k_loop_scalar)
TTT_TENSIX_COLUMN(tile_column_avx2, TTT_TENSIX_AVX2, k_loop_avx2)
TTT_TENSIX_COLUMN(tile_column_avx512, TTT_TENSIX_AVX512, k_loop_avx512)

using ColumnFn = void (*)(const ColumnArgs&);

ColumnFn column_kernel() {
  switch (active_isa()) {
    case IsaLevel::AVX512:
    case IsaLevel::AVX512_BF16: return tile_column_avx512;
    case IsaLevel::AVX2: return tile_column_avx2;
    case IsaLevel::SCALAR: break;
  }
  return tile_column_scalar;
}

// Weight values of tile column tn, k-major: out[k][0..32), zeros past K and N.
void weight_column(const KernelSet& ks, const WeightView& w, int64_t kpad, int64_t tn, float* out) {
  if (w.layout == Layout::TILE) {
    for (int64_t tk = 0; tk < w.kt; ++tk) ks.decode_tile(w, tk, tn, out + tk * 32 * 32);
    return;
  }
  for (int64_t k = 0; k < kpad; ++k) {
    for (int64_t j = 0; j < 32; ++j) {
      const int64_t n = tn * 32 + j;
      float v = 0.0f;
      if (k < w.k && n < w.n) {
        if (w.dtype == DataType::FLOAT32) {
          std::memcpy(&v, w.data + (k * w.n + n) * 4, 4);
        } else {
          uint16_t b;
          std::memcpy(&b, w.data + (k * w.n + n) * 2, 2);
          v = bfloat16_to_float(b);
        }
      }
      out[k * 32 + j] = v;
    }
  }
}

}  // namespace

void run_tensix(const RunInputs& in, const OpConfig& config, ExecContext& ctx) {
  const MatmulDims& d = *in.dims;
  const ComputeKernelConfig& cc = config.compute_kernel_config;
  const nm::FidelityOperands ops = nm::fidelity_operands(cc.math_fidelity);
  const int threads = ctx.threads > 0 ? std::min(ctx.threads, ctx.pool.size()) : ctx.pool.size();

  // SrcB parts of x.
  const int64_t xn = d.rows * in.kpad;
  float* b1 = scratch(static_cast<std::size_t>(ops.second ? 2 * xn : xn), kSlotPackedA).data();
  float* b2 = ops.second ? b1 + xn : nullptr;
  ctx.pool.parallel_for(
      xn,
      [&](int64_t i0, int64_t i1, int) {
        for (int64_t i = i0; i < i1; ++i) {
          const float v = nm::to_src_register(in.x[i]);
          b1[i] = nm::mask_bits(v, ops.b1_mask);
          if (b2) b2[i] = nm::srcb_low(v);
        }
      },
      threads, 4096);

  const KernelSet& ks = kernels_for(active_isa());
  const ColumnFn column = column_kernel();
  const int64_t columns = ceil_div(d.n, kTileSize);
  ctx.pool.parallel_for(
      columns,
      [&](int64_t j0, int64_t j1, int) {
        const int64_t panel = in.kpad * 32;
        float* raw = scratch(static_cast<std::size_t>(panel), kSlotThread).data();
        float* a2 = ops.second ? scratch(static_cast<std::size_t>(panel), kSlotThread2).data() : nullptr;
        for (int64_t tn = j0; tn < j1; ++tn) {
          weight_column(ks, in.w, in.kpad, tn, raw);
          // SrcA parts; the first product's part overwrites the raw values in place.
          for (int64_t i = 0; i < panel; ++i) {
            const float v = nm::to_src_register(raw[i]);
            if (a2) a2[i] = nm::mask_bits(v, nm::kSrcAHighMask);
            raw[i] = nm::mask_bits(v, ops.a1_mask);
          }
          ColumnArgs c;
          c.in = &in;
          c.b1 = b1;
          c.b2 = b2;
          c.a1 = raw;
          c.a2 = a2;
          c.tn = tn;
          c.fp32_acc = cc.fp32_dest_acc_en;
          column(c);
        }
      },
      threads);
}

}  // namespace ttt::ops::matmul_detail
