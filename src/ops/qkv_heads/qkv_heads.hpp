// Head layout changes around attention, as TTNN's nlp_* ops do them (pure data movement:
// values are copied, or rounded once when the output dtype differs on cpu).
//
//   CreateQkvHeadsOp        [batch, seq, (nh + 2 nkv) hd]  -> q [batch, nh, seq, hd],
//                           k, v [batch, nkv, seq, hd]          (nlp_create_qkv_heads)
//   CreateQkvHeadsDecodeOp  [1, batch, (nh + 2 nkv) hd]   -> q [1, batch, nh, hd],
//                           k, v [1, batch, nkv, hd]            (nlp_create_qkv_heads_decode)
//   ConcatHeadsOp           [batch, nh, seq, hd]  -> [batch, seq, nh hd]   (nlp_concat_heads)
//   ConcatHeadsDecodeOp     [1, batch, nh, hd]    -> [1, batch, nh hd]     (nlp_concat_heads_decode)
//
// The fused QKV row is Q heads, then K heads, then V heads, each head_dim wide.
//
// Head dims below a tile multiple run with the tile padding: on ttnn devices this emulation
// stores each per-head tensor in TILE layout with its last dim zero-padded to 32, moves the
// logical head_dim values, leaves the padded columns zero, and the cost model counts the
// padded tile bytes.
#pragma once

#include <cstdint>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct CreateQkvHeadsArgs {
  TensorSpec input;  // prefill [batch, seq, (nh + 2 nkv) * hd]; decode [1, batch, (nh + 2 nkv) * hd]
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
};

struct QkvSpecs {
  TensorSpec q, k, v;
};

struct CreateQkvHeadsOp {
  static constexpr const char* kName = "create_qkv_heads";
  static void validate(const CreateQkvHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
  static QkvSpecs output_specs(const CreateQkvHeadsArgs& args, const OpConfig& config);
  static void run(const CreateQkvHeadsArgs& args, const Tensor& input, Tensor& q, Tensor& k, Tensor& v,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const CreateQkvHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct CreateQkvHeadsDecodeOp {
  static constexpr const char* kName = "create_qkv_heads_decode";
  static void validate(const CreateQkvHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
  static QkvSpecs output_specs(const CreateQkvHeadsArgs& args, const OpConfig& config);
  static void run(const CreateQkvHeadsArgs& args, const Tensor& input, Tensor& q, Tensor& k, Tensor& v,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const CreateQkvHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct ConcatHeadsArgs {
  TensorSpec input;  // prefill [batch, nh, seq, hd]; decode [1, batch, nh, hd]
};

struct ConcatHeadsOp {
  static constexpr const char* kName = "concat_heads";
  static void validate(const ConcatHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const ConcatHeadsArgs& args, const OpConfig& config);
  static void run(const ConcatHeadsArgs& args, const Tensor& input, Tensor& out, const OpConfig& config,
                  ExecContext& ctx);
  static Cost cost(const ConcatHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct ConcatHeadsDecodeOp {
  static constexpr const char* kName = "concat_heads_decode";
  static void validate(const ConcatHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const ConcatHeadsArgs& args, const OpConfig& config);
  static void run(const ConcatHeadsArgs& args, const Tensor& input, Tensor& out, const OpConfig& config,
                  ExecContext& ctx);
  static Cost cost(const ConcatHeadsArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
