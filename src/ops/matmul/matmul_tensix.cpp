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

[[gnu::always_inline]] inline void tile_column_body(const ColumnArgs& c) {
  const RunInputs& in = *c.in;
  const MatmulDims& d = *in.dims;
  const int64_t kt = in.kpad / 32;
  for (int64_t r = 0; r < d.rows; ++r) {
    const float* x1 = c.b1 + r * in.kpad;
    const float* x2 = c.b2 ? c.b2 + r * in.kpad : nullptr;
    for (int h = 0; h < 2; ++h) {
      float acc[16] = {};
      for (int64_t tk = 0; tk < kt; ++tk) {
        float p[16] = {};
        for (int k = 0; k < 32; ++k) {
          const int64_t kk = tk * 32 + k;
          const float* w1 = c.a1 + kk * 32 + h * 16;
          const float xv = x1[kk];
          for (int j = 0; j < 16; ++j) p[j] = std::fma(xv, w1[j], p[j]);
          if (x2) {
            const float* w2 = c.a2 + kk * 32 + h * 16;
            const float xl = x2[kk];
            for (int j = 0; j < 16; ++j) p[j] = std::fma(xl, w2[j], p[j]);
          }
        }
        for (int j = 0; j < 16; ++j) acc[j] = nm::round_dest(acc[j] + p[j], c.fp32_acc);
      }
      const int64_t n0 = c.tn * 32 + h * 16;
      for (int j = 0; j < 16 && n0 + j < d.n; ++j) {
        float v = acc[j];
        if (in.bias) v = nm::round_dest(v + in.bias[n0 + j], c.fp32_acc);
        v = activation_ref(in.activation, v);
        in.y[r * d.n + n0 + j] = nm::narrow_dest(v, c.fp32_acc);
      }
    }
  }
}

void tile_column_scalar(const ColumnArgs& c) { tile_column_body(c); }
__attribute__((target("avx2,fma"))) void tile_column_avx2(const ColumnArgs& c) { tile_column_body(c); }
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) void tile_column_avx512(const ColumnArgs& c) {
  tile_column_body(c);
}

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
