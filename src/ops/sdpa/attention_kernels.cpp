// Register blocking: Q K^T takes up to 4 query rows x 4 key rows per step (16 accumulators
// on AVX-512; a decode GQA group shares every key load), and four horizontal sums are done
// together; P V keeps up to 4 rows x 64 output columns in registers while the value rows
// stream by. Keys and values are fp32 or bf16 (widened in registers, so a bf16 cache is
// read once, at half the bytes). exp is Cephes' single-precision polynomial (about 1 ulp)
// with the 2^n step done by scalef (AVX-512) or exponent bits (AVX2).
// Loops over register arrays carry `#pragma GCC unroll` so the accumulators stay in
// registers (without it GCC 12 spills them every iteration).
#include "ops/sdpa/attention_kernels.hpp"

// GCC 12's AVX-512 headers build zero vectors from a self-initialised variable, which
// -Wuninitialized reports at every inlined use; the warnings concern the header only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "ttt/cpu_features.hpp"

#define TTT_AVX2 __attribute__((target("avx2,fma")))
#define TTT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

namespace ttt::ops::attn {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Below this, exp underflows the normal range: such arguments give 0.
constexpr float kExpMin = -87.3f;
constexpr float kExpMax = 88.3762626647949f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return std::bit_cast<float>(static_cast<uint32_t>(x) << 16); }

// ---- scalar ----------------------------------------------------------------------------

template <typename T>
void qk_scalar(const float* q, int64_t nq, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d, float* s,
               int64_t lds) {
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t j = 0; j < nk; ++j) {
      float acc = 0.f;
      for (int64_t c = 0; c < d; ++c) acc += q[i * ldq + c] * widen(k[j * ldk + c]);
      s[i * lds + j] = acc;
    }
  }
}

template <typename T>
void pv_scalar(const float* p, int64_t nq, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d, float* o,
               int64_t ldo) {
  for (int64_t i = 0; i < nq; ++i) {
    float* oi = o + i * ldo;
    for (int64_t j = 0; j < nk; ++j) {
      const float pj = p[i * ldp + j];
      const T* vj = v + j * ldv;
      for (int64_t c = 0; c < d; ++c) oi[c] += pj * widen(vj[c]);
    }
  }
}

float exp_scalar(float* s, int64_t n, float m, float scale) {
  float sum = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    const float x = scale * (s[j] - m);
    const float e = x < kExpMin ? 0.f : std::exp(x);
    s[j] = e;
    sum += e;
  }
  return sum;
}

float max_scalar(const float* s, int64_t n) {
  float m = -kInf;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, s[j]);
  return m;
}

// ---- AVX2 ------------------------------------------------------------------------------

TTT_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
TTT_AVX2 inline __m256 load8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
// The first n < 8 values, zeros after (AVX2 has no masked 16-bit load: go through a copy).
template <typename T>
TTT_AVX2 inline __m256 load8_tail(const T* p, int64_t n) {
  alignas(32) T tmp[8] = {};
  std::memcpy(tmp, p, static_cast<std::size_t>(n) * sizeof(T));
  return load8(tmp);
}

alignas(32) constexpr int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

TTT_AVX2 inline __m256i tail_mask256(int64_t rem) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - rem));
}

TTT_AVX2 inline float hsum256(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 sh = _mm_movehdup_ps(lo);
  lo = _mm_add_ps(lo, sh);
  sh = _mm_movehl_ps(sh, lo);
  return _mm_cvtss_f32(_mm_add_ss(lo, sh));
}

// The four sums of a, b, c, d in one vector, for four horizontal reductions at the cost of one.
TTT_AVX2 inline __m128 hsum4_256(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
  const __m256 cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
  const __m256 abcd = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

template <int MR, int NR, typename T>
TTT_AVX2 inline void qk_micro256(const float* q, int64_t ldq, const T* k, int64_t ldk, int64_t d, float* s,
                                 int64_t lds) {
  __m256 acc[MR][NR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NR; ++c) acc[r][c] = _mm256_setzero_ps();
  int64_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256 kv[NR];
#pragma GCC unroll 16
    for (int c = 0; c < NR; ++c) kv[c] = load8(k + c * ldk + t);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 qv = _mm256_loadu_ps(q + r * ldq + t);
#pragma GCC unroll 16
      for (int c = 0; c < NR; ++c) acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
  if (t < d) {
    __m256 kv[NR];
#pragma GCC unroll 16
    for (int c = 0; c < NR; ++c) kv[c] = load8_tail(k + c * ldk + t, d - t);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 qv = load8_tail(q + r * ldq + t, d - t);
#pragma GCC unroll 16
      for (int c = 0; c < NR; ++c) acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if constexpr (NR == 4) {
      _mm_storeu_ps(s + r * lds, hsum4_256(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
    } else {
#pragma GCC unroll 16
      for (int c = 0; c < NR; ++c) s[r * lds + c] = hsum256(acc[r][c]);
    }
  }
}

template <int MR, typename T>
TTT_AVX2 inline void qk_rows256(const float* q, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d, float* s,
                                int64_t lds) {
  int64_t j = 0;
  for (; j + 4 <= nk; j += 4) qk_micro256<MR, 4>(q, ldq, k + j * ldk, ldk, d, s + j, lds);
  for (; j < nk; ++j) qk_micro256<MR, 1>(q, ldq, k + j * ldk, ldk, d, s + j, lds);
}

template <typename T>
TTT_AVX2 void qk_avx2(const float* q, int64_t nq, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d,
                      float* s, int64_t lds) {
  int64_t i = 0;
  for (; i + 2 <= nq; i += 2) qk_rows256<2>(q + i * ldq, ldq, k, nk, ldk, d, s + i * lds, lds);
  for (; i < nq; ++i) qk_rows256<1>(q + i * ldq, ldq, k, nk, ldk, d, s + i * lds, lds);
}

// Output columns [0, 8 NV) of MR rows; with kTail the last vector covers `width - 8 (NV - 1)` columns.
template <int MR, int NV, bool kTail, typename T>
TTT_AVX2 inline void pv_micro256(const float* p, int64_t ldp, const T* v, int64_t nk, int64_t ldv, float* o,
                                 int64_t ldo, int64_t width) {
  const int64_t last = width - 8 * (NV - 1);
  const __m256i mask = tail_mask256(kTail ? last : 8);
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x)
      acc[r][x] = (kTail && x + 1 == NV) ? _mm256_maskload_ps(o + r * ldo + 8 * x, mask)
                                         : _mm256_loadu_ps(o + r * ldo + 8 * x);
  for (int64_t j = 0; j < nk; ++j) {
    __m256 vv[NV];
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x)
      vv[x] = (kTail && x + 1 == NV) ? load8_tail(v + j * ldv + 8 * x, last) : load8(v + j * ldv + 8 * x);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 pj = _mm256_broadcast_ss(p + r * ldp + j);
#pragma GCC unroll 16
      for (int x = 0; x < NV; ++x) acc[r][x] = _mm256_fmadd_ps(pj, vv[x], acc[r][x]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x) {
      if (kTail && x + 1 == NV) {
        _mm256_maskstore_ps(o + r * ldo + 8 * x, mask, acc[r][x]);
      } else {
        _mm256_storeu_ps(o + r * ldo + 8 * x, acc[r][x]);
      }
    }
}

template <int MR, typename T>
TTT_AVX2 inline void pv_rows256(const float* p, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d, float* o,
                                int64_t ldo) {
  int64_t c = 0;
  for (; c + 32 <= d; c += 32) pv_micro256<MR, 4, false>(p, ldp, v + c, nk, ldv, o + c, ldo, 32);
  for (; c + 8 <= d; c += 8) pv_micro256<MR, 1, false>(p, ldp, v + c, nk, ldv, o + c, ldo, 8);
  if (c < d) pv_micro256<MR, 1, true>(p, ldp, v + c, nk, ldv, o + c, ldo, d - c);
}

template <typename T>
TTT_AVX2 void pv_avx2(const float* p, int64_t nq, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d,
                      float* o, int64_t ldo) {
  int64_t i = 0;
  for (; i + 2 <= nq; i += 2) pv_rows256<2>(p + i * ldp, ldp, v, nk, ldv, d, o + i * ldo, ldo);
  for (; i < nq; ++i) pv_rows256<1>(p + i * ldp, ldp, v, nk, ldv, d, o + i * ldo, ldo);
}

TTT_AVX2 inline __m256 exp256(__m256 x) {
  const __m256 below = _mm256_cmp_ps(x, _mm256_set1_ps(kExpMin), _CMP_LT_OQ);
  // Constant first: min/max return the second operand when one is NaN, so NaN flows on.
  x = _mm256_min_ps(_mm256_set1_ps(kExpMax), x);
  x = _mm256_max_ps(_mm256_set1_ps(kExpMin), x);
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(below, y);
}

TTT_AVX2 float exp_avx2(float* s, int64_t n, float m, float scale) {
  const __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(scale);
  __m256 sum = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp256(_mm256_mul_ps(vs, _mm256_sub_ps(_mm256_loadu_ps(s + j), vm)));
    _mm256_storeu_ps(s + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = hsum256(sum);
  if (j < n) {
    const __m256i mask = tail_mask256(n - j);
    const __m256 x = _mm256_maskload_ps(s + j, mask);
    const __m256 e = _mm256_and_ps(exp256(_mm256_mul_ps(vs, _mm256_sub_ps(x, vm))), _mm256_castsi256_ps(mask));
    _mm256_maskstore_ps(s + j, mask, e);
    total += hsum256(e);
  }
  return total;
}

TTT_AVX2 float max_avx2(const float* s, int64_t n) {
  __m256 mx = _mm256_set1_ps(-kInf);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(s + j));
  __m128 lo = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
  float m = _mm_cvtss_f32(lo);
  for (; j < n; ++j) m = std::max(m, s[j]);
  return m;
}

TTT_AVX2 void widen_avx2(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load8(in + i));
  for (; i < n; ++i) out[i] = widen(in[i]);
}

// ---- AVX-512 ---------------------------------------------------------------------------

TTT_AVX512 inline __mmask16 tail_mask512(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// Masked loads of 16 values (lanes outside the mask read nothing and give 0).
TTT_AVX512 inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
TTT_AVX512 inline __m512 load16(const uint16_t* p, __mmask16 m) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

// Mask of vector x of an NV-vector block: all lanes, except the last vector of a tail block.
template <int NV, bool kTail>
TTT_AVX512 inline __mmask16 mask_for(int x, __mmask16 tail) {
  return (kTail && x + 1 == NV) ? tail : static_cast<__mmask16>(0xFFFF);
}

TTT_AVX512 inline __m128 hsum4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  const __m512 abcd = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
  return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
}

template <int MR, int NR, typename T>
TTT_AVX512 inline void qk_micro512(const float* q, int64_t ldq, const T* k, int64_t ldk, int64_t d, float* s,
                                   int64_t lds) {
  __m512 acc[MR][NR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NR; ++c) acc[r][c] = _mm512_setzero_ps();
  const int64_t full = d / 16 * 16;
  const __mmask16 tail = tail_mask512(d - full);
  for (int64_t t = 0; t <= full; t += 16) {
    // The last pass covers the tail (an empty mask when d is a multiple of 16).
    const __mmask16 mask = t < full ? static_cast<__mmask16>(0xFFFF) : tail;
    if (mask == 0) break;
    __m512 kv[NR];
#pragma GCC unroll 16
    for (int c = 0; c < NR; ++c) kv[c] = load16(k + c * ldk + t, mask);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 qv = load16(q + r * ldq + t, mask);
#pragma GCC unroll 16
      for (int c = 0; c < NR; ++c) acc[r][c] = _mm512_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if constexpr (NR == 4) {
      _mm_storeu_ps(s + r * lds, hsum4_512(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
    } else {
#pragma GCC unroll 16
      for (int c = 0; c < NR; ++c) s[r * lds + c] = _mm512_reduce_add_ps(acc[r][c]);
    }
  }
}

template <int MR, typename T>
TTT_AVX512 inline void qk_rows512(const float* q, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d,
                                  float* s, int64_t lds) {
  int64_t j = 0;
  for (; j + 4 <= nk; j += 4) qk_micro512<MR, 4>(q, ldq, k + j * ldk, ldk, d, s + j, lds);
  for (; j < nk; ++j) qk_micro512<MR, 1>(q, ldq, k + j * ldk, ldk, d, s + j, lds);
}

template <typename T>
TTT_AVX512 void qk_avx512(const float* q, int64_t nq, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d,
                          float* s, int64_t lds) {
  int64_t i = 0;
  for (; i + 4 <= nq; i += 4) qk_rows512<4>(q + i * ldq, ldq, k, nk, ldk, d, s + i * lds, lds);
  for (; i + 2 <= nq; i += 2) qk_rows512<2>(q + i * ldq, ldq, k, nk, ldk, d, s + i * lds, lds);
  for (; i < nq; ++i) qk_rows512<1>(q + i * ldq, ldq, k, nk, ldk, d, s + i * lds, lds);
}

// Output columns [0, 16 NV) of MR rows; with kTail the last vector covers `width - 16 (NV - 1)`.
template <int MR, int NV, bool kTail, typename T>
TTT_AVX512 inline void pv_micro512(const float* p, int64_t ldp, const T* v, int64_t nk, int64_t ldv, float* o,
                                   int64_t ldo, int64_t width) {
  const __mmask16 tail = kTail ? tail_mask512(width - 16 * (NV - 1)) : static_cast<__mmask16>(0xFFFF);
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x) acc[r][x] = load16(o + r * ldo + 16 * x, mask_for<NV, kTail>(x, tail));
  for (int64_t j = 0; j < nk; ++j) {
    __m512 vv[NV];
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x) vv[x] = load16(v + j * ldv + 16 * x, mask_for<NV, kTail>(x, tail));
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 pj = _mm512_set1_ps(p[r * ldp + j]);
#pragma GCC unroll 16
      for (int x = 0; x < NV; ++x) acc[r][x] = _mm512_fmadd_ps(pj, vv[x], acc[r][x]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int x = 0; x < NV; ++x) _mm512_mask_storeu_ps(o + r * ldo + 16 * x, mask_for<NV, kTail>(x, tail), acc[r][x]);
}

template <int MR, typename T>
TTT_AVX512 inline void pv_rows512(const float* p, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d,
                                  float* o, int64_t ldo) {
  int64_t c = 0;
  for (; c + 64 <= d; c += 64) pv_micro512<MR, 4, false>(p, ldp, v + c, nk, ldv, o + c, ldo, 64);
  for (; c + 16 <= d; c += 16) pv_micro512<MR, 1, false>(p, ldp, v + c, nk, ldv, o + c, ldo, 16);
  if (c < d) pv_micro512<MR, 1, true>(p, ldp, v + c, nk, ldv, o + c, ldo, d - c);
}

template <typename T>
TTT_AVX512 void pv_avx512(const float* p, int64_t nq, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d,
                          float* o, int64_t ldo) {
  int64_t i = 0;
  for (; i + 4 <= nq; i += 4) pv_rows512<4>(p + i * ldp, ldp, v, nk, ldv, d, o + i * ldo, ldo);
  for (; i + 2 <= nq; i += 2) pv_rows512<2>(p + i * ldp, ldp, v, nk, ldv, d, o + i * ldo, ldo);
  for (; i < nq; ++i) pv_rows512<1>(p + i * ldp, ldp, v, nk, ldv, d, o + i * ldo, ldo);
}

TTT_AVX512 inline __m512 exp512(__m512 x) {
  const __mmask16 below = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpMin), _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_set1_ps(kExpMax), x);
  x = _mm512_max_ps(_mm512_set1_ps(kExpMin), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 y = _mm512_set1_ps(kP0);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  y = _mm512_scalef_ps(y, n);
  return _mm512_mask_mov_ps(y, below, _mm512_setzero_ps());
}

TTT_AVX512 float exp_avx512(float* s, int64_t n, float m, float scale) {
  const __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(scale);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 mask = j + 16 <= n ? static_cast<__mmask16>(0xFFFF) : tail_mask512(n - j);
    const __m512 e = _mm512_maskz_mov_ps(mask, exp512(_mm512_mul_ps(vs, _mm512_sub_ps(load16(s + j, mask), vm))));
    _mm512_mask_storeu_ps(s + j, mask, e);
    sum = _mm512_add_ps(sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

TTT_AVX512 float max_avx512(const float* s, int64_t n) {
  __m512 mx = _mm512_set1_ps(-kInf);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + j));
  if (j < n) mx = _mm512_mask_max_ps(mx, tail_mask512(n - j), mx, load16(s + j, tail_mask512(n - j)));
  return _mm512_reduce_max_ps(mx);
}

TTT_AVX512 void widen_avx512(const uint16_t* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = i + 16 <= n ? static_cast<__mmask16>(0xFFFF) : tail_mask512(n - i);
    _mm512_mask_storeu_ps(out + i, mask, load16(in + i, mask));
  }
}

int isa_level() { return static_cast<int>(active_isa()); }
constexpr int kAvx2 = static_cast<int>(IsaLevel::AVX2);
constexpr int kAvx512 = static_cast<int>(IsaLevel::AVX512);

template <typename T>
void qk_dispatch(const float* q, int64_t nq, int64_t ldq, const T* k, int64_t nk, int64_t ldk, int64_t d, float* s,
                 int64_t lds) {
  const int isa = isa_level();
  if (isa >= kAvx512) return qk_avx512(q, nq, ldq, k, nk, ldk, d, s, lds);
  if (isa >= kAvx2) return qk_avx2(q, nq, ldq, k, nk, ldk, d, s, lds);
  qk_scalar(q, nq, ldq, k, nk, ldk, d, s, lds);
}

template <typename T>
void pv_dispatch(const float* p, int64_t nq, int64_t ldp, const T* v, int64_t nk, int64_t ldv, int64_t d, float* o,
                 int64_t ldo) {
  const int isa = isa_level();
  if (isa >= kAvx512) return pv_avx512(p, nq, ldp, v, nk, ldv, d, o, ldo);
  if (isa >= kAvx2) return pv_avx2(p, nq, ldp, v, nk, ldv, d, o, ldo);
  pv_scalar(p, nq, ldp, v, nk, ldv, d, o, ldo);
}

}  // namespace

void qk_scores(const float* q, int64_t nq, int64_t ldq, const float* k, int64_t nk, int64_t ldk, int64_t d, float* s,
               int64_t lds) {
  qk_dispatch(q, nq, ldq, k, nk, ldk, d, s, lds);
}

void qk_scores(const float* q, int64_t nq, int64_t ldq, const uint16_t* k, int64_t nk, int64_t ldk, int64_t d,
               float* s, int64_t lds) {
  qk_dispatch(q, nq, ldq, k, nk, ldk, d, s, lds);
}

void pv_accumulate(const float* p, int64_t nq, int64_t ldp, const float* v, int64_t nk, int64_t ldv, int64_t d,
                   float* o, int64_t ldo) {
  pv_dispatch(p, nq, ldp, v, nk, ldv, d, o, ldo);
}

void pv_accumulate(const float* p, int64_t nq, int64_t ldp, const uint16_t* v, int64_t nk, int64_t ldv, int64_t d,
                   float* o, int64_t ldo) {
  pv_dispatch(p, nq, ldp, v, nk, ldv, d, o, ldo);
}

float exp_scaled_sum(float* s, int64_t n, float m, float scale) {
  const int isa = isa_level();
  if (isa >= kAvx512) return exp_avx512(s, n, m, scale);
  if (isa >= kAvx2) return exp_avx2(s, n, m, scale);
  return exp_scalar(s, n, m, scale);
}

float max_value(const float* s, int64_t n) {
  const int isa = isa_level();
  if (isa >= kAvx512) return max_avx512(s, n);
  if (isa >= kAvx2) return max_avx2(s, n);
  return max_scalar(s, n);
}

void bf16_to_float(const uint16_t* in, float* out, int64_t n) {
  const int isa = isa_level();
  if (isa >= kAvx512) return widen_avx512(in, out, n);
  if (isa >= kAvx2) return widen_avx2(in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = widen(in[i]);
}

}  // namespace ttt::ops::attn
