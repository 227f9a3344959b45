// Scaled dot-product attention for prefill (ttnn.transformer.scaled_dot_product_attention):
// q [batch, num_heads, seq, head_dim], k and v [batch, num_kv_heads, kv_seq, head_dim],
// grouped-query attention (each kv head serves num_heads / num_kv_heads query heads),
// optional causal mask where query i sees keys j <= i + (kv_seq - seq), kv_seq being the
// number of keys attended (SdpaArgs::kv_len, or all rows of k). Computed in chunks
// of q_chunk_size queries x k_chunk_size keys with the online softmax, so no seq x kv_seq
// matrix is ever formed. Output [batch, num_heads, seq, head_dim].
//
// Program config: SdpaConfig (q_chunk_size, k_chunk_size, grid, exp_approx_mode). On ttnn
// devices chunk sizes are multiples of 32 and need not divide the sequence (the kernels pad
// to a whole number of chunks; tt-metal sdpa_device_operation.cpp / sdpa_program_factory.cpp);
// without a program config tt-metal uses 32 and 32. On cpu any positive sizes work (a
// CpuKernelConfig or no program config picks 64 x 256).
//
// Head dims below a tile multiple run with the tile padding: on ttnn devices this emulation
// keeps q, k, v and the output in TILE layout with head_dim zero-padded to 32, computes on the
// logical head_dim values (the zero columns add nothing to Q K^T), leaves the output's padded
// columns zero, and the cost model counts the padded tile bytes.
#pragma once

#include <optional>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct SdpaArgs {
  TensorSpec q;  // [batch, num_heads, seq, head_dim]
  TensorSpec k;  // [batch, num_kv_heads, kv_seq, head_dim]
  TensorSpec v;  // like k
  bool causal = true;
  std::optional<float> scale;  // default 1 / sqrt(head_dim)
  // Keys attended: rows [0, kv_len) of k and v (0: all of them). Lets k and v be the KV
  // cache itself, [batch, num_kv_heads, max_seq_len, head_dim], in chunked prefill: a prompt
  // chunk at [start, start + seq) attends kv_len = start + seq cached keys.
  int64_t kv_len = 0;

  int64_t keys() const { return kv_len > 0 ? kv_len : k.shape[2]; }
};

struct SdpaOp {
  static constexpr const char* kName = "sdpa";
  static void validate(const SdpaArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const SdpaArgs& args, const OpConfig& config);
  static void run(const SdpaArgs& args, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const SdpaArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// Chunk sizes an SDPA op runs with: the SdpaConfig's, else the device family's default.
struct SdpaChunking {
  int64_t q_chunk = 0;
  int64_t k_chunk = 0;
  CoreGrid grid;
};
SdpaChunking sdpa_chunking(const OpConfig& config, const DeviceSpec& device);

}  // namespace ttt::ops
