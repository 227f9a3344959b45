// KV-cache writes. The cache is [batch, num_kv_heads, max_seq_len, head_dim] in its own
// dtype (cpu: any float format; ttnn: FLOAT32, BFLOAT16, BFLOAT8_B or BFLOAT4_B in TILE
// layout) and is updated in place.
//
//   UpdateCacheOp  decode: one token per user, user b's k (or v) row written at row
//                  positions[b] (ttnn.experimental.paged_update_cache without a page table).
//   FillCacheOp    prefill: a prompt's rows written at [start, start + seq) for one user or
//                  a run of users (ttnn.fill_cache).
//
// A token row of a TILE cache lives in the face rows of one tile row; writing it re-packs
// exactly those face rows (for block floats: each face row's shared exponent and 16 codes,
// read-modify-write, as the device's update kernel re-packs the tile it rewrites), so no
// byte of another token changes.
//
// Head dims below a tile multiple run with the tile padding: on ttnn devices this emulation
// keeps the cache and the input in TILE layout with head_dim zero-padded to 32, writes the
// logical head_dim values (a block-float face row is re-packed with its padded values still
// zero), and the cost model counts the padded tile bytes.
#pragma once

#include <cstdint>
#include <span>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct UpdateCacheArgs {
  TensorSpec cache;  // [batch, num_kv_heads, max_seq_len, head_dim]
  TensorSpec input;  // [1, batch, num_kv_heads, head_dim]: this step's k or v
};

struct UpdateCacheOp {
  static constexpr const char* kName = "update_cache";
  static void validate(const UpdateCacheArgs& args, const OpConfig& config, const DeviceSpec& device);
  // The cache itself (the op writes in place).
  static TensorSpec output_spec(const UpdateCacheArgs& args, const OpConfig& config);
  static void run(const UpdateCacheArgs& args, const Tensor& input, std::span<const int32_t> positions, Tensor& cache,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const UpdateCacheArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct FillCacheArgs {
  TensorSpec cache;  // [batch, num_kv_heads, max_seq_len, head_dim]
  TensorSpec input;  // [users, num_kv_heads, seq, head_dim]: a prompt's k or v
};

struct FillCacheOp {
  static constexpr const char* kName = "fill_cache";
  static void validate(const FillCacheArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const FillCacheArgs& args, const OpConfig& config);
  // Input user i goes to cache user first_user + i, rows [start, start + seq).
  static void run(const FillCacheArgs& args, const Tensor& input, int64_t first_user, int64_t start, Tensor& cache,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const FillCacheArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
