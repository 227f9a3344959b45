// The host kernels of attention: blocks of dot products (Q K^T), accumulation of P V, and
// the exponentials of the online softmax. Each has a scalar, an AVX2+FMA and an AVX-512
// body; the one run is chosen per call from ttt::active_isa(), so tests can compare them.
#pragma once

#include <cstdint>

namespace ttt::ops::attn {

// s[i * lds + j] = sum_c q[i * ldq + c] * k[j * ldk + c] for i < nq, j < nk, c < d.
// Keys are fp32 or bfloat16 bits (widened exactly, in registers).
void qk_scores(const float* q, int64_t nq, int64_t ldq, const float* k, int64_t nk, int64_t ldk, int64_t d, float* s,
               int64_t lds);
void qk_scores(const float* q, int64_t nq, int64_t ldq, const uint16_t* k, int64_t nk, int64_t ldk, int64_t d,
               float* s, int64_t lds);

// o[i * ldo + c] += sum_j p[i * ldp + j] * v[j * ldv + c] for i < nq, j < nk, c < d.
// Values are fp32 or bfloat16 bits.
void pv_accumulate(const float* p, int64_t nq, int64_t ldp, const float* v, int64_t nk, int64_t ldv, int64_t d,
                   float* o, int64_t ldo);
void pv_accumulate(const float* p, int64_t nq, int64_t ldp, const uint16_t* v, int64_t nk, int64_t ldv, int64_t d,
                   float* o, int64_t ldo);

// s[j] = exp(scale * (s[j] - m)) for j < n; arguments below the float range (masked
// scores are -inf) give exactly 0, NaN stays NaN. Returns the sum of the new values.
float exp_scaled_sum(float* s, int64_t n, float m, float scale);

// Largest of n values (-inf when n == 0).
float max_value(const float* s, int64_t n);

// bfloat16 bits to float (exact), n values.
void bf16_to_float(const uint16_t* in, float* out, int64_t n);

}  // namespace ttt::ops::attn
