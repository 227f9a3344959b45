// Decode attention (ttnn.transformer.scaled_dot_product_attention_decode): one query per
// user, q [1, batch, num_heads, head_dim], over that user's KV cache
// [batch, num_kv_heads, max_seq_len, head_dim] up to and including its own position
// (positions differ per user). Grouped-query attention: the num_heads / num_kv_heads query
// heads of a kv head are processed together, so each cache row is read once per step.
// The cache is visited in chunks of k_chunk_size with the online softmax; no row past a
// user's position is ever read. Output [1, batch, num_heads, head_dim].
//
// Program config: SdpaConfig (k_chunk_size, grid). On ttnn devices k_chunk_size is a
// positive multiple of 32 that divides max_seq_len (tt-metal sdpa_decode_device_operation.cpp,
// unpaged cache); without a program config 32 is used. On cpu any positive size works
// (default 256).
//
// Head dims below a tile multiple run with the tile padding: on ttnn devices this emulation
// keeps q, the caches and the output in TILE layout with head_dim zero-padded to 32, computes
// on the logical head_dim values, leaves the output's padded columns zero, and the cost model
// counts the padded tile bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct SdpaDecodeArgs {
  TensorSpec q;        // [1, batch, num_heads, head_dim]
  TensorSpec k_cache;  // [batch, num_kv_heads, max_seq_len, head_dim]
  TensorSpec v_cache;  // like k_cache
  std::optional<float> scale;  // default 1 / sqrt(head_dim)
  int64_t context_len = 0;     // keys attended per user, for cost() only; 0: the whole cache
};

struct SdpaDecodeOp {
  static constexpr const char* kName = "sdpa_decode";
  static void validate(const SdpaDecodeArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const SdpaDecodeArgs& args, const OpConfig& config);
  // positions[b]: the cache row user b writes this step; the user attends rows [0, positions[b]].
  static void run(const SdpaDecodeArgs& args, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                  std::span<const int32_t> positions, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const SdpaDecodeArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// The k chunk a decode SDPA runs with (SdpaConfig's, else the device family's default).
int64_t sdpa_decode_k_chunk(const OpConfig& config, const DeviceSpec& device);

}  // namespace ttt::ops
