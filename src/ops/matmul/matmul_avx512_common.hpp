// AVX-512 helpers shared by the AVX-512 and AVX512-BF16 kernel sets: face-row loads,
// the C-tile store of the micro-kernels, and the vectorized epilogue (bias, SiLU, GELU,
// ReLU). Internal to src/ops/matmul; include only from files compiled for AVX-512.
#pragma once

// GCC 12's AVX-512 headers self-initialise their "undefined" vectors (__Y = __Y), which
// -Wmaybe-uninitialized reports wherever they are inlined; the warnings concern the
// header only. Include <immintrin.h> through this file in the matmul kernels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "ops/matmul/matmul_kernels.hpp"

#define TTT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

namespace ttt::ops::matmul_detail {

// 16 signed bytes -> 16 floats.
TTT_AVX512 inline __m512 code_row(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p))));
}

// 16 bfloat16 -> 16 floats (exact).
TTT_AVX512 inline __m512 bf16_row(const uint16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

// Stores (or adds) an 8 x 32 accumulator tile into c: rows < mr, columns < nr.
TTT_AVX512 inline void store_c_tile(const __m512 (&acc)[kGemmMR][2], float* c, int64_t ldc, int mr, int nr,
                                    bool accumulate) {
  const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

// exp(x): range reduction by ln 2 (two-part constant), degree-6 polynomial, scaling by
// 2^n through the exponent field. Relative error about 2 ulp; overflow gives inf,
// underflow 0, NaN stays NaN.
TTT_AVX512 inline __m512 exp_ps(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.7228f), lo = _mm512_set1_ps(-103.9720f);
  const __m512 xc = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // scalef handles exponents beyond the normal range (gives 0 or inf) in one step.
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), y, _mm512_set1_ps(__builtin_inff()));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), odd in x.
TTT_AVX512 inline __m512 erf_ps(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
  const __m512 r = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
  // Copy the sign of x.
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r),
                                             _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))));
}

TTT_AVX512 inline __m512 activation_ps(UnaryActivation a, __m512 v) {
  switch (a) {
    case UnaryActivation::SILU: {
      const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), v));
      return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    case UnaryActivation::GELU: {
      const __m512 half_v = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
      const __m512 e = erf_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
      return _mm512_fmadd_ps(half_v, e, half_v);
    }
    case UnaryActivation::RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    case UnaryActivation::NONE: break;
  }
  return v;
}

TTT_AVX512 inline void epilogue_row_avx512(float* y, int64_t n, const EpilogueArgs& e) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(m, y + i);
    if (e.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, e.bias + i));
    v = activation_ps(e.activation, v);
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

}  // namespace ttt::ops::matmul_detail
