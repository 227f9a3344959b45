// The GEMV of the AVX2 + FMA kernel set (hosts without AVX-512).
//
// Tiled weights: each tile is decoded once into a face-ordered L1 buffer of 1024 floats,
// then serves every row of x (two rows at a time, 8 accumulators). Block floats decode
// to their signed magnitudes m (sign-magnitude bytes -> signed bytes with psignb; bfloat4_b
// nibbles through a pshufb table), exact as floats; the shared exponent scales x instead
// (xs = x * 2^(E - 127 - (bits - 1)), exact: a power of two), so each product is the one
// the decoded weight gives. Row-major weights stream 4 k rows at a time, 16 columns per
// step, against y kept in L1 / L2.
#include <algorithm>
#include <cstring>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "ops/matmul/matmul_generic.hpp"
#include "ops/matmul/matmul_kernels.hpp"
#include "ttt/formats.hpp"

#define TTT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ttt::ops::matmul_detail {
namespace {

constexpr int64_t kMaxRows = 64;  // rows of x one pass keeps scaled x for
// Weights in column panels: each tile is prefetched this far ahead (the hardware
// prefetchers alone fall behind a kernel that computes long per tile).
constexpr int64_t kPanelPrefetchBytes = 8192;

// 16 signed bytes -> 16 floats at out.
TTT_AVX2 inline void bytes_to_floats(__m128i b, float* out) {
  _mm256_store_ps(out, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)));
  _mm256_store_ps(out + 8, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8))));
}

// A tile in face order (face f, row r, 16 columns at f * 256 + r * 16): exact values for
// bfloat16 and FLOAT32, signed magnitudes for plain block floats.
TTT_AVX2 void decode_bfp8_codes(const uint8_t* tile, float* t) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  const __m128i magnitude = _mm_set1_epi8(0x7F);
  for (int q = 0; q < 64; ++q) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + q * 16));
    // psignb negates where the code's sign bit is set (a zero magnitude stays zero).
    bytes_to_floats(_mm_sign_epi8(_mm_and_si128(c, magnitude), c), t + q * 16);
  }
}

TTT_AVX2 void decode_bfp4_codes(const uint8_t* tile, float* t) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  const __m128i table = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 0, -1, -2, -3, -4, -5, -6, -7);
  const __m128i nibble = _mm_set1_epi8(0x0F);
  for (int q = 0; q < 32; ++q) {  // two face rows (8 bytes each) per 16 bytes
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + q * 16));
    const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(c, nibble));
    const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(c, 4), nibble));
    bytes_to_floats(_mm_unpacklo_epi8(lo, hi), t + q * 32);       // row 2q: low nibble first
    bytes_to_floats(_mm_unpackhi_epi8(lo, hi), t + q * 32 + 16);  // row 2q + 1
  }
}

TTT_AVX2 void decode_bf16_tile(const uint8_t* tile, float* t) {
  const auto* p = reinterpret_cast<const __m128i*>(tile);
  for (int q = 0; q < 128; ++q) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(p + q));
    _mm256_store_ps(t + q * 8, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
  }
}

// Whether every shared exponent of a block-float tile takes the plain scaling path.
template <int kBits>
inline bool plain_exponents(const uint8_t* tile) {
  for (int i = 0; i < 64; ++i)
    if (tile[i] < kBits || tile[i] == 255) return false;
  return true;
}

// xs[m * 64 + f * 16 + r]: the x value face row (f, r) multiplies, times the row's scale
// for block floats (kBits > 0).
template <int kBits>
TTT_AVX2 inline void tile_x(const uint8_t* tile, const float* x, int64_t kpad, int64_t nrows, int64_t tk, float* xs) {
  for (int64_t m = 0; m < nrows; ++m) {
    const float* xm = x + m * kpad + tk * 32;
    for (int f = 0; f < 4; ++f) {
      for (int h = 0; h < 2; ++h) {
        __m256 v = _mm256_loadu_ps(xm + (f / 2) * 16 + h * 8);
        if constexpr (kBits > 0) {
          const __m256i e =
              _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tile + f * 16 + h * 8)));
          v = _mm256_mul_ps(v, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(kBits - 1)), 23)));
        }
        _mm256_store_ps(xs + m * 64 + f * 16 + h * 8, v);
      }
    }
  }
}

// y[m][0..32) += the tile t (face order) against kRows rows of scaled x.
template <int kRows>
TTT_AVX2 inline void tile_rows(const float* t, const float* xs, float* y, int64_t ldy) {
  for (int h = 0; h < 2; ++h) {  // column half: faces h and h + 2
    __m256 acc[kRows][2];
    for (int m = 0; m < kRows; ++m) {
      acc[m][0] = _mm256_loadu_ps(y + m * ldy + h * 16);
      acc[m][1] = _mm256_loadu_ps(y + m * ldy + h * 16 + 8);
    }
    for (int f = h; f < 4; f += 2) {
#pragma GCC unroll 4
      for (int r = 0; r < 16; ++r) {
        const __m256 w0 = _mm256_load_ps(t + f * 256 + r * 16), w1 = _mm256_load_ps(t + f * 256 + r * 16 + 8);
        for (int m = 0; m < kRows; ++m) {
          const __m256 xv = _mm256_broadcast_ss(xs + m * 64 + f * 16 + r);
          acc[m][0] = _mm256_fmadd_ps(w0, xv, acc[m][0]);
          acc[m][1] = _mm256_fmadd_ps(w1, xv, acc[m][1]);
        }
      }
    }
    for (int m = 0; m < kRows; ++m) {
      _mm256_storeu_ps(y + m * ldy + h * 16, acc[m][0]);
      _mm256_storeu_ps(y + m * ldy + h * 16 + 8, acc[m][1]);
    }
  }
}

// One K tile at a time over the thread's tile columns; weights in column panels
// (shard_nt 1) go panel by panel instead, each over its K tiles, the order they lie in
// memory. Either way a column sums its tiles in the order tk = 0, 1, ...
TTT_AVX2 void gemv_tiles_avx2(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t tiles = (a.cols + 31) / 32, tn0 = a.col0 / 32;
  const bool unscaled = w.dtype == DataType::FLOAT32 || w.dtype == DataType::BFLOAT16;
  alignas(32) float t[1024];
  alignas(32) float xs[kMaxRows * 64];
  alignas(32) float exact[1024];  // row-major values of a tile off the plain path
  for (int64_t r0 = 0; r0 < a.rows; r0 += kMaxRows) {
    const int64_t nrows = std::min(kMaxRows, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    const uint8_t* end = w.shard_nt == 1 ? panels_end(w, tn0, tiles) : nullptr;
    auto run_tile = [&](int64_t tk, int64_t j) TTT_AVX2 {
      const uint8_t* tile = w.tile(tk, tn0 + j);
      if (end) prefetch_panel_tile<_MM_HINT_T0>(w, tile, end, kPanelPrefetchBytes);
      bool plain = true;
      switch (w.dtype) {
        case DataType::FLOAT32: std::memcpy(t, tile, sizeof(t)); break;
        case DataType::BFLOAT16: decode_bf16_tile(tile, t); break;
        case DataType::BFLOAT8_B:
          plain = plain_exponents<7>(tile);
          if (plain) decode_bfp8_codes(tile, t), tile_x<7>(tile, x, a.kpad, nrows, tk, xs);
          break;
        case DataType::BFLOAT4_B:
          plain = plain_exponents<3>(tile);
          if (plain) decode_bfp4_codes(tile, t), tile_x<3>(tile, x, a.kpad, nrows, tk, xs);
          break;
        default: break;
      }
      if (!plain) {  // rare: exact values (row-major), plain x, face order rebuilt
        generic::decode_tile(w, tk, tn0 + j, exact);
        for (int f = 0; f < 4; ++f)
          for (int r = 0; r < 16; ++r)
            std::memcpy(t + f * 256 + r * 16, exact + ((f / 2) * 16 + r) * 32 + (f % 2) * 16, 64);
        tile_x<0>(nullptr, x, a.kpad, nrows, tk, xs);
      }
      float* y = y0 + j * 32;
      int64_t m = 0;
      for (; m + 2 <= nrows; m += 2) tile_rows<2>(t, xs + m * 64, y + m * a.ldy, a.ldy);
      if (m < nrows) tile_rows<1>(t, xs + m * 64, y + m * a.ldy, a.ldy);
    };
    // Unscaled formats: one xs per K tile (block floats scale it per tile, in run_tile).
    auto x_of = [&](int64_t tk) TTT_AVX2 {
      if (unscaled) tile_x<0>(nullptr, x, a.kpad, nrows, tk, xs);
    };
    for_each_gemv_tile(w, tiles, x_of, run_tile);
  }
}

// Row-major FLOAT32 / BFLOAT16: 4 k rows by 16 columns per step.
constexpr int kRmDepth = 4;

template <bool kBf16>
TTT_AVX2 inline void rm_load16(const WeightView& w, int64_t k, int64_t n, int64_t width, __m256& lo, __m256& hi) {
  if (width >= 16) {
    if constexpr (kBf16) {
      const auto* p = reinterpret_cast<const uint16_t*>(w.data) + k * w.n + n;
      lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
      hi = _mm256_castsi256_ps(
          _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8))), 16));
    } else {
      const float* p = reinterpret_cast<const float*>(w.data) + k * w.n + n;
      lo = _mm256_loadu_ps(p);
      hi = _mm256_loadu_ps(p + 8);
    }
    return;
  }
  alignas(32) float v[16] = {};
  for (int64_t j = 0; j < width; ++j) v[j] = generic::row_major_value(w, k, n + j);
  lo = _mm256_load_ps(v);
  hi = _mm256_load_ps(v + 8);
}

template <bool kBf16>
TTT_AVX2 void gemv_row_major_avx2(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t cols = std::min(a.cols, w.n - a.col0);
  const int64_t steps = (cols + 15) / 16;
  for (int64_t r = 0; r < a.rows; ++r) std::fill(a.y + r * a.ldy, a.y + r * a.ldy + steps * 16, 0.0f);
  for (int64_t k0 = 0; k0 < w.k; k0 += kRmDepth) {
    const int64_t kb = std::min<int64_t>(kRmDepth, w.k - k0);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t c = s * 16;
      __m256 lo[kRmDepth], hi[kRmDepth];
      for (int kk = 0; kk < kRmDepth; ++kk) {
        if (kk < kb) {
          rm_load16<kBf16>(w, k0 + kk, a.col0 + c, cols - c, lo[kk], hi[kk]);
        } else {
          lo[kk] = hi[kk] = _mm256_setzero_ps();  // x is zero there too (kpad)
        }
      }
      for (int64_t r = 0; r < a.rows; ++r) {
        const float* xr = a.x + r * a.kpad + k0;  // k0 + 4 <= kpad
        float* yr = a.y + r * a.ldy + c;
        __m256 acc_lo = _mm256_loadu_ps(yr), acc_hi = _mm256_loadu_ps(yr + 8);
        for (int kk = 0; kk < kRmDepth; ++kk) {
          const __m256 xv = _mm256_broadcast_ss(xr + kk);
          acc_lo = _mm256_fmadd_ps(lo[kk], xv, acc_lo);
          acc_hi = _mm256_fmadd_ps(hi[kk], xv, acc_hi);
        }
        _mm256_storeu_ps(yr, acc_lo);
        _mm256_storeu_ps(yr + 8, acc_hi);
      }
    }
  }
}

}  // namespace

TTT_AVX2 void gemv_avx2(const GemvArgs& a) {
  if (a.w->layout == Layout::TILE) {
    gemv_tiles_avx2(a);
  } else if (a.w->dtype == DataType::BFLOAT16) {
    gemv_row_major_avx2<true>(a);
  } else {
    gemv_row_major_avx2<false>(a);
  }
}

}  // namespace ttt::ops::matmul_detail
