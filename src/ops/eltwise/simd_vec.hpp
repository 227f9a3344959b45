// Vector types for the row kernels: one struct per instruction set with the same static
// interface, so row_kernels.inc is written once and compiled per ISA. Every member that
// uses wide registers carries its target attribute: the library is built for baseline
// x86-64 and these are only called after active_isa() said the host has the ISA.
//
// exp() is the Cephes single-precision scheme (range reduction by ln 2 split in two
// constants, degree-6 polynomial, 2^n by exponent arithmetic): about 1 ulp on the
// clamped range, the same polynomial and operation order on every ISA.
#pragma once

// GCC 12's AVX-512 headers self-initialise their "undefined" vectors (__Y = __Y), which
// -Wuninitialized reports at every inlined use; the warnings are about the header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <bit>
#include <cmath>
#include <cstdint>

#define TTT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TTT_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")))

namespace ttt::ops::simd {

// Constants of the exp scheme, shared so every ISA evaluates the same polynomial.
inline constexpr float kExpHi = 88.3762626647949f;
inline constexpr float kExpLo = -87.3365447505531f;  // keeps the result a normal float
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpP0 = 1.9875691500e-4f;
inline constexpr float kExpP1 = 1.3981999507e-3f;
inline constexpr float kExpP2 = 8.3334519073e-3f;
inline constexpr float kExpP3 = 4.1665795894e-2f;
inline constexpr float kExpP4 = 1.6666665459e-1f;
inline constexpr float kExpP5 = 5.0000001201e-1f;

// ---------------------------------------------------------------------------------------
// Portable fallback: one lane. Multiply and add stay separate (no fused rounding), which
// is the only arithmetic difference from the FMA paths.
// ---------------------------------------------------------------------------------------
struct VecScalar {
  using V = float;
  static constexpr int kLanes = 1;

  static V zero() { return 0.f; }
  static V set1(float v) { return v; }
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static V load_bf16(const uint16_t* p) { return std::bit_cast<float>(static_cast<uint32_t>(*p) << 16); }
  static void store_bf16(uint16_t* p, V v) {
    const uint32_t u = std::bit_cast<uint32_t>(v);
    *p = (u & 0x7FFFFFFFu) > 0x7F800000u ? uint16_t{0x7FC0}
                                         : static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
  }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V recip(V d) { return 1.f / d; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V min(V a, V b) { return a < b ? a : b; }
  static double hsum(V a) { return a; }
  static V exp(V x) {
    x = min(max(x, kExpLo), kExpHi);
    const float n = std::floor(x * kLog2e + 0.5f);
    x = x - n * kLn2Hi;
    x = x - n * kLn2Lo;
    float y = kExpP0;
    y = y * x + kExpP1;
    y = y * x + kExpP2;
    y = y * x + kExpP3;
    y = y * x + kExpP4;
    y = y * x + kExpP5;
    y = y * (x * x) + (x + 1.f);
    const auto e = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    return y * std::bit_cast<float>(e);
  }
};

// ---------------------------------------------------------------------------------------
// AVX2 + FMA: 8 lanes.
// ---------------------------------------------------------------------------------------
struct VecAvx2 {
  using V = __m256;
  static constexpr int kLanes = 8;

  TTT_TARGET_AVX2 static V zero() { return _mm256_setzero_ps(); }
  TTT_TARGET_AVX2 static V set1(float v) { return _mm256_set1_ps(v); }
  TTT_TARGET_AVX2 static V load(const float* p) { return _mm256_loadu_ps(p); }
  TTT_TARGET_AVX2 static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  TTT_TARGET_AVX2 static V load_bf16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  TTT_TARGET_AVX2 static void store_bf16(uint16_t* p, V v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    const __m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7F800000));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC0), nan);
    // Every lane holds a value below 0x10000, so the unsigned-saturating pack is exact.
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
  }
  TTT_TARGET_AVX2 static V add(V a, V b) { return _mm256_add_ps(a, b); }
  TTT_TARGET_AVX2 static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  TTT_TARGET_AVX2 static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  TTT_TARGET_AVX2 static V div(V a, V b) { return _mm256_div_ps(a, b); }
  // 1/d: the 12-bit estimate and one Newton step, r + r (1 - d r): within ~2 ulp.
  TTT_TARGET_AVX2 static V recip(V d) {
    const V r = _mm256_rcp_ps(d);
    return fmadd(r, _mm256_fnmadd_ps(d, r, set1(1.f)), r);
  }
  TTT_TARGET_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  TTT_TARGET_AVX2 static V max(V a, V b) { return _mm256_max_ps(a, b); }
  TTT_TARGET_AVX2 static V min(V a, V b) { return _mm256_min_ps(a, b); }
  TTT_TARGET_AVX2 static double hsum(V a) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    const __m256d s = _mm256_add_pd(lo, hi);
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
  TTT_TARGET_AVX2 static V exp(V x) {
    x = min(max(x, set1(kExpLo)), set1(kExpHi));
    const V n = _mm256_floor_ps(fmadd(x, set1(kLog2e), set1(0.5f)));
    x = _mm256_fnmadd_ps(n, set1(kLn2Hi), x);
    x = _mm256_fnmadd_ps(n, set1(kLn2Lo), x);
    V y = set1(kExpP0);
    y = fmadd(y, x, set1(kExpP1));
    y = fmadd(y, x, set1(kExpP2));
    y = fmadd(y, x, set1(kExpP3));
    y = fmadd(y, x, set1(kExpP4));
    y = fmadd(y, x, set1(kExpP5));
    y = fmadd(y, mul(x, x), add(x, set1(1.f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return mul(y, _mm256_castsi256_ps(e));
  }
};

// ---------------------------------------------------------------------------------------
// AVX-512 (F, BW, VL, DQ): 16 lanes.
// ---------------------------------------------------------------------------------------
struct VecAvx512 {
  using V = __m512;
  static constexpr int kLanes = 16;

  TTT_TARGET_AVX512 static V zero() { return _mm512_setzero_ps(); }
  TTT_TARGET_AVX512 static V set1(float v) { return _mm512_set1_ps(v); }
  TTT_TARGET_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
  TTT_TARGET_AVX512 static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  TTT_TARGET_AVX512 static V load_bf16(const uint16_t* p) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  TTT_TARGET_AVX512 static void store_bf16(uint16_t* p, V v) {
    // Integer rounding rather than vcvtneps2bf16: that instruction flushes denormals and
    // keeps NaN payloads, while ttt's bfloat16 (and TTNN's host conversion) does neither.
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    const __m512i mag = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(mag, _mm512_set1_epi32(0x7F800000));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7FC0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(r));
  }
  TTT_TARGET_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  TTT_TARGET_AVX512 static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  TTT_TARGET_AVX512 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  TTT_TARGET_AVX512 static V div(V a, V b) { return _mm512_div_ps(a, b); }
  // 1/d: the 14-bit estimate and one Newton step, r + r (1 - d r): within ~1 ulp.
  TTT_TARGET_AVX512 static V recip(V d) {
    const V r = _mm512_rcp14_ps(d);
    return fmadd(r, _mm512_fnmadd_ps(d, r, set1(1.f)), r);
  }
  TTT_TARGET_AVX512 static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  TTT_TARGET_AVX512 static V max(V a, V b) { return _mm512_max_ps(a, b); }
  TTT_TARGET_AVX512 static V min(V a, V b) { return _mm512_min_ps(a, b); }
  TTT_TARGET_AVX512 static double hsum(V a) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  }
  TTT_TARGET_AVX512 static V exp(V x) {
    x = min(max(x, set1(kExpLo)), set1(kExpHi));
    const V n = _mm512_roundscale_ps(fmadd(x, set1(kLog2e), set1(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(n, set1(kLn2Hi), x);
    x = _mm512_fnmadd_ps(n, set1(kLn2Lo), x);
    V y = set1(kExpP0);
    y = fmadd(y, x, set1(kExpP1));
    y = fmadd(y, x, set1(kExpP2));
    y = fmadd(y, x, set1(kExpP3));
    y = fmadd(y, x, set1(kExpP4));
    y = fmadd(y, x, set1(kExpP5));
    y = fmadd(y, mul(x, x), add(x, set1(1.f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return mul(y, _mm512_castsi512_ps(e));
  }
};

}  // namespace ttt::ops::simd
