// The AVX512-BF16 kernel set: the AVX-512 set plus a bfloat16 GEMV
// (matmul_gemv_avx512_bf16.cpp) and GEMM for operands that are exact in bfloat16 (weights
// not FLOAT32: the op rounds an fp32 x to bfloat16 against them). vdpbf16ps
// multiplies pairs of bfloat16 exactly and adds them into fp32 accumulators, twice the
// multiply rate of fp32 FMA. Panels hold pairs of k (k = 2p in the low half of a 32-bit
// lane, 2p + 1 in the high half) for each of 32 columns; the A block holds the same pairs
// for each of 8 rows, broadcast one lane at a time.
#include <algorithm>
#include <cstring>

#include "ops/matmul/matmul_avx512_common.hpp"
#include "ops/matmul/matmul_bf16_pairs.hpp"
#include "ops/matmul/matmul_kernels.hpp"

namespace ttt::ops::matmul_detail {
namespace {

// Two rows of 16 fp32 values that are exact in bfloat16 -> 16 pairs (truncation is exact).
TTT_AVX512_BF16 inline __m512i pair_rows(__m512 even, __m512 odd) {
  const __m512i lo = _mm512_srli_epi32(_mm512_castps_si512(even), 16);
  const __m512i hi = _mm512_and_si512(_mm512_castps_si512(odd), _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
  return _mm512_or_si512(lo, hi);
}

// A block [kpad / 2][8] pairs from rows [r0, r0 + 8) of x (values exact in bfloat16).
TTT_AVX512_BF16 void pack_a_bf16(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) {
  auto* o = static_cast<uint32_t*>(out);
  const int64_t mr = std::min<int64_t>(kGemmMR, rows - r0);
  for (int64_t p = 0; p < kpad / 2; ++p) {
    for (int64_t r = 0; r < kGemmMR; ++r) {
      uint32_t lo = 0, hi = 0;
      if (r < mr) {
        std::memcpy(&lo, x + (r0 + r) * kpad + 2 * p, 4);
        std::memcpy(&hi, x + (r0 + r) * kpad + 2 * p + 1, 4);
      }
      o[p * kGemmMR + r] = (lo >> 16) | (hi & 0xFFFF0000u);
    }
  }
}

// B panel [kc / 2][32] pairs of W at k in [k0, k0 + kc), n in [n0, n0 + 32).
TTT_AVX512_BF16 void pack_b_bf16(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) {
  auto* o = static_cast<__m512i*>(out);  // two vectors per pair of rows
  if (w.layout == Layout::TILE) {
    alignas(64) float t[32 * 32];
    for (int64_t k = 0; k < kc; k += 32) {
      kernels_for(IsaLevel::AVX512).decode_tile(w, (k0 + k) / 32, n0 / 32, t);
      for (int p = 0; p < 16; ++p) {
        const float* even = t + (2 * p) * 32;
        const float* odd = even + 32;
        _mm512_storeu_si512(o + (k / 2 + p) * 2, pair_rows(_mm512_load_ps(even), _mm512_load_ps(odd)));
        _mm512_storeu_si512(o + (k / 2 + p) * 2 + 1, pair_rows(_mm512_load_ps(even + 16), _mm512_load_ps(odd + 16)));
      }
    }
    return;
  }
  // Row-major bfloat16 (FLOAT32 weights never take the bfloat16 path): interleave the
  // words of rows 2p and 2p + 1.
  const int64_t width = std::clamp<int64_t>(w.n - n0, 0, 32);
  const __mmask32 mask = width >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << width) - 1);
  const __m512i first = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                         37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i second = _mm512_set_epi16(63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24, 55, 23, 54,
                                          22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
  const auto* base = reinterpret_cast<const uint16_t*>(w.data);
  for (int64_t p = 0; p < kc / 2; ++p) {
    const int64_t k = k0 + 2 * p;
    const __m512i even = k < w.k ? _mm512_maskz_loadu_epi16(mask, base + k * w.n + n0) : _mm512_setzero_si512();
    const __m512i odd = k + 1 < w.k ? _mm512_maskz_loadu_epi16(mask, base + (k + 1) * w.n + n0) : _mm512_setzero_si512();
    _mm512_storeu_si512(o + p * 2, _mm512_permutex2var_epi16(even, first, odd));
    _mm512_storeu_si512(o + p * 2 + 1, _mm512_permutex2var_epi16(even, second, odd));
  }
}

TTT_AVX512_BF16 void micro_bf16(const void* a_, const void* b_, int64_t kc, float* c, int64_t ldc, int mr, int nr,
                                bool accumulate) {
  const auto* a = static_cast<const int32_t*>(a_);
  const auto* b = static_cast<const __m512i*>(b_);
  __m512 acc[kGemmMR][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc / 2; ++p) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + p * 2));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + p * 2 + 1));
    for (int r = 0; r < kGemmMR; ++r) {
      const __m512bh ar = reinterpret_cast<__m512bh>(_mm512_set1_epi32(a[p * kGemmMR + r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], ar, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], ar, b1);
    }
  }
  store_c_tile(acc, c, ldc, mr, nr, accumulate);
}

}  // namespace

const KernelSet& avx512_bf16_kernels() {
  static const KernelSet set = [] {
    KernelSet s = avx512_kernels();
    s.isa = IsaLevel::AVX512_BF16;
    s.gemv = gemv_avx512_bf16;
    s.gemm_bf16 = GemmKernels{GemmMath::BF16, pack_a_bf16, pack_b_bf16, micro_bf16};
    return s;
  }();
  return set;
}

}  // namespace ttt::ops::matmul_detail
