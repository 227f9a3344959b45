// The AVX-512 kernel set (F, BW, VL, DQ), the hot paths of the host.
//
// GEMV on tiled weights reads each tile once and multiplies as it decodes:
// - A face row (16 consecutive n at one k) becomes one 16-lane vector.
// - Block floats: the magnitudes of a tile are first turned into signed bytes
//   (two's complement, a 1 KiB L1 buffer); each face row is then one sign-extending
//   widen, one int -> float conversion and one FMA per row of x. The shared exponent
//   never touches the weights: it scales x instead (xs = x[k] * 2^(E - 127 - (bits - 1)),
//   exact, a power of two), so the FMA computes the same product as the decoded weight
//   would give.
// - bfloat16: widen and shift; fp32: the FMA reads the tile directly.
// - Several rows of x share each decoded face row. Each row's sums run in the same order
//   whatever the rows (one accumulator per column half), so a row's result does not
//   depend on the batch.
// Row-major weights stream 8 rows of K at a time against y kept in L1/L2.
// The GEMM packs panels of 32 columns (one tile column) by decoding whole tiles, then
// runs an 8 x 32 FMA micro-kernel (16 accumulators).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/matmul/matmul_avx512_common.hpp"
#include "ops/matmul/matmul_generic.hpp"
#include "ops/matmul/matmul_kernels.hpp"

namespace ttt::ops::matmul_detail {
namespace {

// ---------------------------------------------------------------------------------------
// Tile decoding
// ---------------------------------------------------------------------------------------

// Whether every shared exponent of a block-float tile takes the plain scaling path.
template <int kBits>
TTT_AVX512 inline bool plain_exponents(const uint8_t* tile) {
  const __m512i e = _mm512_loadu_si512(tile);
  const __mmask64 low = _mm512_cmplt_epu8_mask(e, _mm512_set1_epi8(kBits));
  const __mmask64 special = _mm512_cmpeq_epi8_mask(e, _mm512_set1_epi8(static_cast<char>(0xFF)));
  return (low | special) == 0;
}

// Magnitudes of a block-float tile as signed bytes in stored order (face row q at q * 16).
TTT_AVX512 inline void signed_codes_bfp8(const uint8_t* tile, int8_t* out) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  const __m512i magnitude_mask = _mm512_set1_epi8(0x7F);
  for (int q = 0; q < 16; ++q) {
    const __m512i c = _mm512_loadu_si512(codes + q * 64);
    const __mmask64 negative = _mm512_movepi8_mask(c);
    const __m512i m = _mm512_and_si512(c, magnitude_mask);
    _mm512_store_si512(out + q * 64, _mm512_mask_sub_epi8(m, negative, _mm512_setzero_si512(), m));
  }
}

TTT_AVX512 inline void signed_codes_bfp4(const uint8_t* tile, int8_t* out) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  // Sign-magnitude nibble -> signed value.
  const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 0, -1, -2, -3, -4, -5, -6, -7));
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  // Each 128-bit lane holds two face rows (8 bytes each); unpacking the low and high
  // nibbles gives one row per lane in two registers, which these indices put back in order.
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  for (int q = 0; q < 8; ++q) {
    const __m512i c = _mm512_loadu_si512(codes + q * 64);
    const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(c, nibble));
    const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(c, 4), nibble));
    const __m512i even_rows = _mm512_unpacklo_epi8(lo, hi);
    const __m512i odd_rows = _mm512_unpackhi_epi8(lo, hi);
    _mm512_store_si512(out + q * 128, _mm512_permutex2var_epi64(even_rows, first, odd_rows));
    _mm512_store_si512(out + q * 128 + 64, _mm512_permutex2var_epi64(even_rows, second, odd_rows));
  }
}

// Scales of the face rows of a plain block-float tile: 2^(E - 127 - (bits - 1)).
template <int kBits>
TTT_AVX512 inline __m512 face_scales(const uint8_t* tile, int face) {
  const __m512i e = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + face * 16)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(kBits - 1)), 23));
}

// Tile (tk, tn) as 32 x 32 fp32, row-major.
TTT_AVX512 void decode_tile_avx512(const WeightView& w, int64_t tk, int64_t tn, float* out) {
  const uint8_t* tile = w.tile(tk, tn);
  auto row_of = [](float* o, int f, int r) { return o + ((f / 2) * 16 + r) * 32 + (f % 2) * 16; };
  switch (w.dtype) {
    case DataType::FLOAT32: {
      const auto* t = reinterpret_cast<const float*>(tile);
      for (int f = 0; f < 4; ++f)
        for (int r = 0; r < 16; ++r) _mm512_storeu_ps(row_of(out, f, r), _mm512_loadu_ps(t + f * 256 + r * 16));
      return;
    }
    case DataType::BFLOAT16: {
      const auto* t = reinterpret_cast<const uint16_t*>(tile);
      for (int f = 0; f < 4; ++f)
        for (int r = 0; r < 16; ++r) _mm512_storeu_ps(row_of(out, f, r), bf16_row(t + f * 256 + r * 16));
      return;
    }
    case DataType::BFLOAT8_B:
    case DataType::BFLOAT4_B: {
      const bool bfp8 = w.dtype == DataType::BFLOAT8_B;
      if (!(bfp8 ? plain_exponents<7>(tile) : plain_exponents<3>(tile))) {
        generic::decode_tile(w, tk, tn, out);
        return;
      }
      alignas(64) int8_t codes[1024];
      if (bfp8) {
        signed_codes_bfp8(tile, codes);
      } else {
        signed_codes_bfp4(tile, codes);
      }
      for (int f = 0; f < 4; ++f) {
        alignas(64) float scale[16];
        _mm512_store_ps(scale, bfp8 ? face_scales<7>(tile, f) : face_scales<3>(tile, f));
        for (int r = 0; r < 16; ++r) {
          const __m512 v = code_row(codes + f * 256 + r * 16);
          _mm512_storeu_ps(row_of(out, f, r), _mm512_mul_ps(v, _mm512_set1_ps(scale[r])));
        }
      }
      return;
    }
    default: generic::decode_tile(w, tk, tn, out); return;
  }
}

// ---------------------------------------------------------------------------------------
// GEMV
// ---------------------------------------------------------------------------------------

// Face-row sources: row(f, r) is the 16-lane vector of face f, row r.
struct CodeRows {
  const int8_t* codes;
  TTT_AVX512 __m512 row(int f, int r) const { return code_row(codes + f * 256 + r * 16); }
};
struct F32Rows {
  const float* t;
  TTT_AVX512 __m512 row(int f, int r) const { return _mm512_loadu_ps(t + f * 256 + r * 16); }
};
struct Bf16Rows {
  const uint16_t* t;
  TTT_AVX512 __m512 row(int f, int r) const { return bf16_row(t + f * 256 + r * 16); }
};

// y[m][0..32) += sum over the tile's 32 k of xs[m][face row] * row, for kRows rows of x.
// xs[m * 64 + f * 16 + r] multiplies face f, row r. Faces are read in storage order (the
// hardware prefetchers follow a forward stream), both column halves accumulating at once.
template <int kRows, class Rows>
TTT_AVX512 inline void tile_times_rows(const Rows& rows, const float* xs, float* y, int64_t ldy) {
  constexpr int kChains = 1;  // the same order for every row whatever the rows
  __m512 acc[kRows][2][kChains];
  for (int m = 0; m < kRows; ++m) {
    for (int h = 0; h < 2; ++h) {
      acc[m][h][0] = _mm512_loadu_ps(y + m * ldy + h * 16);
      for (int c = 1; c < kChains; ++c) acc[m][h][c] = _mm512_setzero_ps();
    }
  }
  for (int f = 0; f < 4; ++f) {
    const int h = f % 2;  // faces 0 and 2 hold columns 0..15, faces 1 and 3 columns 16..31
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) {
      const __m512 v = rows.row(f, r);
      for (int m = 0; m < kRows; ++m) {
        __m512& a = acc[m][h][r % kChains];
        a = _mm512_fmadd_ps(v, _mm512_set1_ps(xs[m * 64 + f * 16 + r]), a);
      }
    }
  }
  for (int m = 0; m < kRows; ++m) {
    for (int h = 0; h < 2; ++h) {
      __m512 sum = acc[m][h][0];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[m][h][c]);
      _mm512_storeu_ps(y + m * ldy + h * 16, sum);
    }
  }
}

template <class Rows>
TTT_AVX512 inline void tile_times_all_rows(const Rows& rows, const float* xs, int64_t nrows, float* y, int64_t ldy) {
  int64_t m = 0;
  for (; m + 8 <= nrows; m += 8) tile_times_rows<8>(rows, xs + m * 64, y + m * ldy, ldy);
  if (m + 4 <= nrows) tile_times_rows<4>(rows, xs + m * 64, y + m * ldy, ldy), m += 4;
  if (m + 2 <= nrows) tile_times_rows<2>(rows, xs + m * 64, y + m * ldy, ldy), m += 2;
  if (m < nrows) tile_times_rows<1>(rows, xs + m * 64, y + m * ldy, ldy);
}

// xs for a tile at K tile tk: each face row's x value, scaled by the row's shared exponent
// for block floats (kBits > 0) or as it is (kBits == 0).
template <int kBits>
TTT_AVX512 inline void tile_x(const uint8_t* tile, const float* x, int64_t kpad, int64_t nrows, int64_t tk, float* xs) {
  for (int64_t m = 0; m < nrows; ++m) {
    const float* xm = x + m * kpad + tk * 32;
    for (int f = 0; f < 4; ++f) {
      const __m512 v = _mm512_loadu_ps(xm + (f / 2) * 16);
      _mm512_store_ps(xs + m * 64 + f * 16, kBits ? _mm512_mul_ps(v, face_scales<kBits>(tile, f)) : v);
    }
  }
}

constexpr int64_t kGemvMaxRows = 64;  // rows of x one pass keeps scaled x for (xs buffer)

// Software prefetch of the tile kPrefetchBytes ahead in this thread's order (its tile
// columns of one K tile, then the next K tile; over column panels, the bytes that
// follow): the block-float kernels compute long enough per tile that the hardware
// prefetchers alone leave them waiting on DRAM.
constexpr int64_t kPrefetchBytes = 8192;

inline void prefetch_ahead(const WeightView& w, int64_t tn0, int64_t tiles, int64_t tk, int64_t j) {
  if (w.shard_nt == 1) {  // column panels: the thread's tiles lie one after another
    prefetch_panel_tile<_MM_HINT_T0>(w, w.tile(tk, tn0 + j), panels_end(w, tn0, tiles), kPrefetchBytes);
    return;
  }
  const int64_t ahead = std::max<int64_t>(1, kPrefetchBytes / w.tile_bytes);
  int64_t jj = j + ahead, kk = tk;
  while (jj >= tiles) jj -= tiles, ++kk;
  if (kk >= w.kt) return;
  const auto* p = reinterpret_cast<const char*>(w.tile(kk, tn0 + jj));
  for (int64_t off = 0; off < w.tile_bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// One K tile at a time over the thread's tile columns; weights in column panels
// (shard_nt 1) go panel by panel instead, each over its K tiles, the order they lie in
// memory. Either way a column sums its tiles in the order tk = 0, 1, ...
TTT_AVX512 void gemv_tiles(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t tiles = (a.cols + 31) / 32;
  const bool unscaled = w.dtype == DataType::FLOAT32 || w.dtype == DataType::BFLOAT16;
  alignas(64) int8_t codes[1024];
  alignas(64) float xs[kGemvMaxRows * 64];
  alignas(64) float decoded[1024];  // face-ordered values of a tile off the plain path
  for (int64_t r0 = 0; r0 < a.rows; r0 += kGemvMaxRows) {
    const int64_t nrows = std::min(kGemvMaxRows, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    auto run_tile = [&](int64_t tk, int64_t j) TTT_AVX512 {
      const uint8_t* tile = w.tile(tk, a.col0 / 32 + j);
      float* y = y0 + j * 32;
      prefetch_ahead(w, a.col0 / 32, tiles, tk, j);
      switch (w.dtype) {
        case DataType::FLOAT32:
          tile_times_all_rows(F32Rows{reinterpret_cast<const float*>(tile)}, xs, nrows, y, a.ldy);
          break;
        case DataType::BFLOAT16:
          tile_times_all_rows(Bf16Rows{reinterpret_cast<const uint16_t*>(tile)}, xs, nrows, y, a.ldy);
          break;
        case DataType::BFLOAT8_B:
        case DataType::BFLOAT4_B: {
          const bool bfp8 = w.dtype == DataType::BFLOAT8_B;
          if (bfp8 ? plain_exponents<7>(tile) : plain_exponents<3>(tile)) {
            if (bfp8) {
              signed_codes_bfp8(tile, codes);
              tile_x<7>(tile, x, a.kpad, nrows, tk, xs);
            } else {
              signed_codes_bfp4(tile, codes);
              tile_x<3>(tile, x, a.kpad, nrows, tk, xs);
            }
            tile_times_all_rows(CodeRows{codes}, xs, nrows, y, a.ldy);
          } else {
            // Rare (zeros, denormal-range or inf/NaN exponents): exact values, plain x.
            for (int f = 0; f < 4; ++f) {
              for (int r = 0; r < 16; ++r) {
                if (bfp8) {
                  generic::decode_bfp_face_row<7>(tile, f, r, decoded + f * 256 + r * 16);
                } else {
                  generic::decode_bfp_face_row<3>(tile, f, r, decoded + f * 256 + r * 16);
                }
              }
            }
            tile_x<0>(nullptr, x, a.kpad, nrows, tk, xs);
            tile_times_all_rows(F32Rows{decoded}, xs, nrows, y, a.ldy);
          }
          break;
        }
        default: break;
      }
    };
    // Unscaled formats: one xs per K tile (block floats scale it per tile, in run_tile).
    auto x_of = [&](int64_t tk) TTT_AVX512 {
      if (unscaled) tile_x<0>(nullptr, x, a.kpad, nrows, tk, xs);
    };
    for_each_gemv_tile(w, tiles, x_of, run_tile);
  }
}

// Row-major weights: 8 k rows at a time, 32 columns per step, y kept in memory (in L1
// or L2 for the rows of one thread). bfloat16 rows widen by unpacking words against zero,
// which leaves the 32 columns in the order {0-3, 8-11, 16-19, 24-27} {4-7, 12-15, ...};
// y keeps that order until the end of the pass (unpermute_bf16_columns).
inline constexpr int kRowMajorKBlock = 8;

template <bool kBf16>
TTT_AVX512 inline void rm_load32(const WeightView& w, int64_t k, int64_t n, __mmask32 mask, __m512& lo, __m512& hi) {
  if constexpr (kBf16) {
    const auto* p = reinterpret_cast<const uint16_t*>(w.data) + k * w.n + n;
    const __m512i v = _mm512_maskz_loadu_epi16(mask, p);
    lo = _mm512_castsi512_ps(_mm512_unpacklo_epi16(_mm512_setzero_si512(), v));
    hi = _mm512_castsi512_ps(_mm512_unpackhi_epi16(_mm512_setzero_si512(), v));
  } else {
    const float* p = reinterpret_cast<const float*>(w.data) + k * w.n + n;
    lo = _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p);
    hi = _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask >> 16), p + 16);
  }
}

TTT_AVX512 inline void unpermute_bf16_columns(float* y) {
  const __m512 lo = _mm512_loadu_ps(y), hi = _mm512_loadu_ps(y + 16);
  const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i second = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  _mm512_storeu_ps(y, _mm512_permutex2var_ps(lo, first, hi));
  _mm512_storeu_ps(y + 16, _mm512_permutex2var_ps(lo, second, hi));
}

template <bool kBf16>
TTT_AVX512 void gemv_row_major(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t cols = std::min(a.cols, w.n - a.col0);
  const int64_t steps = (cols + 31) / 32;
  for (int64_t r = 0; r < a.rows; ++r) std::fill(a.y + r * a.ldy, a.y + r * a.ldy + steps * 32, 0.0f);
  for (int64_t k0 = 0; k0 < w.k; k0 += kRowMajorKBlock) {
    const int64_t kb = std::min<int64_t>(kRowMajorKBlock, w.k - k0);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t c = s * 32;
      const __mmask32 mask = cols - c >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << (cols - c)) - 1);
      __m512 lo[kRowMajorKBlock], hi[kRowMajorKBlock];
      for (int kk = 0; kk < kRowMajorKBlock; ++kk) {
        if (kk < kb) {
          rm_load32<kBf16>(w, k0 + kk, a.col0 + c, mask, lo[kk], hi[kk]);
        } else {
          lo[kk] = hi[kk] = _mm512_setzero_ps();  // x is zero there too (kpad)
        }
      }
      for (int64_t r = 0; r < a.rows; ++r) {
        const float* xr = a.x + r * a.kpad + k0;  // k0 + 8 <= kpad
        float* yr = a.y + r * a.ldy + c;
        __m512 acc_lo = _mm512_loadu_ps(yr), acc_hi = _mm512_loadu_ps(yr + 16);
        for (int kk = 0; kk < kRowMajorKBlock; ++kk) {
          const __m512 xv = _mm512_set1_ps(xr[kk]);
          acc_lo = _mm512_fmadd_ps(lo[kk], xv, acc_lo);
          acc_hi = _mm512_fmadd_ps(hi[kk], xv, acc_hi);
        }
        _mm512_storeu_ps(yr, acc_lo);
        _mm512_storeu_ps(yr + 16, acc_hi);
      }
    }
  }
  if constexpr (kBf16) {
    for (int64_t r = 0; r < a.rows; ++r)
      for (int64_t s = 0; s < steps; ++s) unpermute_bf16_columns(a.y + r * a.ldy + s * 32);
  }
}

TTT_AVX512 void gemv_avx512(const GemvArgs& a) {
  if (a.w->layout == Layout::TILE) {
    gemv_tiles(a);
  } else if (a.w->dtype == DataType::BFLOAT16) {
    gemv_row_major<true>(a);
  } else {
    gemv_row_major<false>(a);
  }
}

// ---------------------------------------------------------------------------------------
// GEMM (fp32)
// ---------------------------------------------------------------------------------------

TTT_AVX512 void pack_a_avx512(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) {
  generic::pack_a_fp32(x, kpad, rows, r0, out);
}

TTT_AVX512 void pack_b_avx512(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) {
  float* o = static_cast<float*>(out);
  if (w.layout == Layout::TILE) {
    for (int64_t k = 0; k < kc; k += 32) decode_tile_avx512(w, (k0 + k) / 32, n0 / 32, o + k * 32);
    return;
  }
  const int64_t width = std::clamp<int64_t>(w.n - n0, 0, 32);
  const __mmask32 mask = width >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << width) - 1);
  const bool bf16 = w.dtype == DataType::BFLOAT16;
  for (int64_t k = 0; k < kc; ++k) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    if (k0 + k < w.k) {
      if (bf16) {
        rm_load32<true>(w, k0 + k, n0, mask, lo, hi);
      } else {
        rm_load32<false>(w, k0 + k, n0, mask, lo, hi);
      }
    }
    _mm512_storeu_ps(o + k * 32, lo);
    _mm512_storeu_ps(o + k * 32 + 16, hi);
    if (bf16) unpermute_bf16_columns(o + k * 32);
  }
}

TTT_AVX512 void micro_avx512(const void* a_, const void* b_, int64_t kc, float* c, int64_t ldc, int mr, int nr,
                             bool accumulate) {
  const float* a = static_cast<const float*>(a_);
  const float* b = static_cast<const float*>(b_);
  __m512 acc[kGemmMR][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * 32);
    const __m512 b1 = _mm512_loadu_ps(b + k * 32 + 16);
    for (int r = 0; r < kGemmMR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[k * kGemmMR + r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
  store_c_tile(acc, c, ldc, mr, nr, accumulate);
}

TTT_AVX512 void epilogue_avx512(float* y, int64_t n, const EpilogueArgs& e) { epilogue_row_avx512(y, n, e); }

}  // namespace

const KernelSet& avx512_kernels() {
  static const KernelSet set = [] {
    KernelSet s;
    s.isa = IsaLevel::AVX512;
    s.gemv = gemv_avx512;
    s.gemm_fp32 = GemmKernels{GemmMath::FP32, pack_a_avx512, pack_b_avx512, micro_avx512};
    s.gemm_bf16 = s.gemm_fp32;
    s.decode_tile = decode_tile_avx512;
    s.epilogue_row = epilogue_avx512;
    return s;
  }();
  return set;
}

}  // namespace ttt::ops::matmul_detail
