// MultiHeadAttention (MHA and GQA) with rotary embedding and a KV cache.
//
// Prefill ops: qkv_matmul, create_heads, rotary, kv_cache (fill), sdpa (causal,
// chunked), concat_heads, out_matmul. Decode ops: the same names, specialised for one
// token per user: create_heads and concat_heads in their decode forms, kv_cache
// updates one row per user at its own position, sdpa attends each user's cache up to
// its position. Reference weights: q_proj/k_proj/v_proj/o_proj .weight ([out, in]) and,
// with qkv_bias, q_proj/k_proj/v_proj .bias.
#pragma once

#include <memory>
#include <string_view>

#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

namespace ops {
struct RotaryTables;
}

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(AttentionSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
                     std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "attention",
                     WeightLoader loader = nullptr);
  // The seed's form: a device by name ("ttnn:n150").
  MultiHeadAttention(AttentionSpec spec, std::string_view device, ModuleHardwareConfig hw = {},
                     std::shared_ptr<const WeightSource> reference = nullptr);
  ~MultiHeadAttention() override;

  const AttentionSpec& spec() const { return spec_; }

  // x: [batch, seq, hidden], tokens at positions 0..seq-1 of users first_user..; when
  // compiled for decode, their keys and values fill those users' caches.
  Tensor& forward_prefill(const Tensor& x, int64_t first_user = 0);
  // x: [1, batch, hidden]; positions[u] is user u's position (its cache holds 0..pos-1).
  Tensor& forward_decode(const Tensor& x, Positions positions);

  // Per-layer KV cache [batch, kv_heads, max_seq_len, head_dim] (valid after compile_decode).
  const Tensor& k_cache() const;
  const Tensor& v_cache() const;
  bool has_weights() const;

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;
  void reserve_persistent(ActivationArena& arena) override;
  void bind_persistent(ActivationArena& arena) override;

 private:
  struct Plan;
  Plan make_plan(Mode mode, int64_t batch, int64_t seq, int64_t cache_len) const;

  AttentionSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  Tensor wqkv_, bqkv_, wo_;
  Tensor k_cache_, v_cache_;  // [users, kv_heads, max_seq_len, head_dim], from compile_decode
  std::shared_ptr<const ops::RotaryTables> rope_;
  std::unique_ptr<Plan> plans_[2];
};

// Rotary tables are shared by every layer with the same head_dim, length and scaling.
std::shared_ptr<const ops::RotaryTables> shared_rotary_tables(const AttentionSpec& spec, int64_t length);

}  // namespace ttt
