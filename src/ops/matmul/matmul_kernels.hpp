// Host kernels of the matmul op, one set per instruction-set level. Internal to
// src/ops/matmul: the op (matmul.cpp) stages operands and picks a set with
// kernels_for(active_isa()).
//
// Conventions shared by every kernel:
// - x is staged as fp32 rows padded with zeros to a multiple of 32 columns (kpad), so
//   kernels read whole 32-deep K tiles without bounds checks (the weights' tile padding
//   is zero as well).
// - The weights are read where they are stored, in their own format (WeightView).
// - Kernels compute z = x @ W; bias and activation run afterwards (apply_epilogue).
#pragma once

#include <cstddef>
#include <cstdint>

#include <xmmintrin.h>

#include "ttt/cpu_features.hpp"
#include "ttt/dtype.hpp"
#include "ttt/op_config.hpp"

namespace ttt::ops::matmul_detail {

// Weights [K, N] as stored: row-major (FLOAT32 / BFLOAT16) or tiles (any dtype), the
// tiles in one [K, N] block or in column shards of shard_nt tile columns, shard after
// shard (each [K, shard_nt * 32] in tile order).
struct WeightView {
  DataType dtype = DataType::FLOAT32;
  Layout layout = Layout::ROW_MAJOR;
  const uint8_t* data = nullptr;
  int64_t k = 0, n = 0;    // logical extents
  int64_t kt = 0, nt = 0;  // tiles along K and N (TILE layout; ceil(k / 32), ceil(n / 32))
  int64_t tile_bytes = 0;
  int64_t shard_nt = 0;  // tile columns per column shard (0: one block)

  const uint8_t* tile(int64_t tk, int64_t tn) const {
    if (shard_nt == 0) return data + (tk * nt + tn) * tile_bytes;
    if (shard_nt == 1) return data + (tn * kt + tk) * tile_bytes;  // column panels: no division
    const int64_t s = tn / shard_nt;
    return data + ((s * kt + tk) * shard_nt + (tn - s * shard_nt)) * tile_bytes;
  }
};

// Weights in column panels: prefetches (hint kHint) the bytes of a tile `ahead` bytes past
// `tile`, unless that runs past `end`, the end of the thread's panels.
template <int kHint>
inline void prefetch_panel_tile(const WeightView& w, const uint8_t* tile, const uint8_t* end, int64_t ahead) {
  if (ahead + w.tile_bytes > end - tile) return;
  const auto* p = reinterpret_cast<const char*>(tile + ahead);
  for (int64_t off = 0; off < w.tile_bytes; off += 64) _mm_prefetch(p + off, static_cast<_mm_hint>(kHint));
}

// The end of the panels [tn0, tn0 + tiles) of weights in column panels.
inline const uint8_t* panels_end(const WeightView& w, int64_t tn0, int64_t tiles) {
  return w.tile(0, tn0 + tiles - 1) + w.kt * w.tile_bytes;
}

// The GEMV's tiles of `tiles` tile columns in the order they lie in memory: weights in
// column panels (shard_nt 1) panel by panel, each over its K tiles; else one K tile at a
// time over the columns. x_of(tk) makes x ready for K tile tk: before each tile of a
// panel, once per K tile otherwise. run(tk, j) runs tile (tk, j). Either way a column
// meets its tiles in the order tk = 0, 1, ...
template <class XOf, class Run>
inline void for_each_gemv_tile(const WeightView& w, int64_t tiles, XOf&& x_of, Run&& run) {
  if (w.shard_nt == 1) {
    for (int64_t j = 0; j < tiles; ++j) {
      for (int64_t tk = 0; tk < w.kt; ++tk) {
        x_of(tk);
        run(tk, j);
      }
    }
    return;
  }
  for (int64_t tk = 0; tk < w.kt; ++tk) {
    x_of(tk);
    for (int64_t j = 0; j < tiles; ++j) run(tk, j);
  }
}

// GEMV: y[r][c] = sum_k x[r][k] * W[k][col0 + c] for r < rows, c < cols, written to y with
// row stride ldy (overwritten, not accumulated). col0 is a multiple of 32 (a tile column)
// for TILE weights; cols may run past N only by the padding of the last tile column, and
// the caller gives room for it.
struct GemvArgs {
  const WeightView* w = nullptr;
  const float* x = nullptr;  // rows x kpad
  int64_t kpad = 0;
  int64_t rows = 0;
  int64_t col0 = 0;
  int64_t cols = 0;
  float* y = nullptr;
  int64_t ldy = 0;
};

// GEMM building blocks. Panels are NR = 32 columns wide (one tile column) and KC deep
// (a multiple of 32); row blocks are MR = 8 rows. Packed layouts:
//   fp32:  A block [kc][8] floats,         B panel [kc][32] floats
//   bf16:  A block [kc/2][8] bf16 pairs,   B panel [kc/2][32] bf16 pairs
// where a pair holds k = 2p in its low half and 2p + 1 in its high half, as vdpbf16ps reads.
inline constexpr int kGemmMR = 8;
inline constexpr int kGemmNR = 32;

enum class GemmMath { FP32, BF16 };

struct GemmKernels {
  GemmMath math = GemmMath::FP32;
  // Packs rows [r0, r0 + 8) of x (zero rows past `rows`), all kpad columns: [kpad][8]
  // (fp32) or [kpad / 2][8] pairs (bf16). A kc-deep block starting at k0 is a slice of it.
  void (*pack_a)(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) = nullptr;
  // Packs the panel of W at k in [k0, k0 + kc), n in [n0, n0 + 32) (zeros past K and N).
  void (*pack_b)(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) = nullptr;
  // c[r][j] (+)= sum over the panel, for r < mr, j < nr; accumulate adds to c.
  void (*micro)(const void* a, const void* b, int64_t kc, float* c, int64_t ldc, int mr, int nr,
                bool accumulate) = nullptr;
};

struct EpilogueArgs {
  const float* bias = nullptr;  // N values, or null
  UnaryActivation activation = UnaryActivation::NONE;
};

struct KernelSet {
  IsaLevel isa = IsaLevel::SCALAR;
  void (*gemv)(const GemvArgs&) = nullptr;
  GemmKernels gemm_fp32;
  GemmKernels gemm_bf16;  // the fp32 kernels where the level has no bf16 dot product
  // Decodes tile (tk, tn) of tiled weights into 32 x 32 fp32 values, row-major (exact).
  void (*decode_tile)(const WeightView& w, int64_t tk, int64_t tn, float* out) = nullptr;
  // y[i] = act(y[i] + bias[i]) over n values of one row.
  void (*epilogue_row)(float* y, int64_t n, const EpilogueArgs& e) = nullptr;
};

const KernelSet& kernels_for(IsaLevel isa);

// Per-level sets (defined in matmul_kernels_<level>.cpp).
const KernelSet& scalar_kernels();
const KernelSet& avx2_kernels();
const KernelSet& avx512_kernels();
const KernelSet& avx512_bf16_kernels();
// The GEMVs of the AVX2 and AVX512-BF16 sets (matmul_gemv_avx2.cpp, matmul_gemv_avx512_bf16.cpp).
void gemv_avx2(const GemvArgs& a);
void gemv_avx512_bf16(const GemvArgs& a);

// Scalar references shared by the generic kernels and the tests.
float activation_ref(UnaryActivation a, float v);

}  // namespace ttt::ops::matmul_detail
