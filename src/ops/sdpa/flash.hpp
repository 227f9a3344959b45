// The online-softmax (flash-attention) recurrence shared by prefill SDPA and decode SDPA.
// Keys are visited in chunks of k_chunk; each query row keeps a running max m, a running
// sum l and an unnormalised output O, so no row ever holds more than one chunk of scores:
//   m' = max(m, max_j s_j);  p_j = exp(scale (s_j - m'));  a = exp(scale (m - m'))
//   l' = a l + sum_j p_j;    O' = a O + sum_j p_j v_j;     out = O / l  after the last chunk.
// Scores are unscaled dot products and the scale enters the exponent, as on the device.
// With DeviceNumerics::emulate every step rounds where the device packs a circular buffer
// (docs/numerics/attention.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/sdpa/attention_common.hpp"

namespace ttt::ops::attn {

// Query rows that attend the same K/V head. Row i sees keys [0, last_key[i]]; last_key is
// non-decreasing in i (causal rows in order, or one limit for all).
struct FlashRows {
  const float* q = nullptr;         // rows x head_dim, fp32
  int64_t rows = 0;
  const int64_t* last_key = nullptr;
  float* out = nullptr;             // rows x head_dim, receives the normalised result
};

struct FlashConfig {
  int64_t head_dim = 0;
  int64_t k_chunk = 0;
  float scale = 1.f;
  DeviceNumerics numerics;
};

// Floats of workspace flash_attend needs for these groups (one thread).
std::size_t flash_workspace_floats(const FlashConfig& cfg, int64_t total_rows, int64_t max_group_rows);

// Attends every group over keys of matrix `kv_matrix` of `k` and `v` (rows = keys). Reads
// no key row past the largest last_key. `workspace` holds flash_workspace_floats() floats.
void flash_attend(const FlashConfig& cfg, std::span<const FlashRows> groups, const TensorRows& k,
                  const TensorRows& v, int64_t kv_matrix, std::span<float> workspace);

}  // namespace ttt::ops::attn
