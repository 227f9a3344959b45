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
#include <vector>

#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

namespace ops {
struct RotaryTables;
struct ExecContext;
}
struct HeadSplit;
class ChipJoin;

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

  // Per-layer KV cache [batch, kv_heads, max_seq_len, head_dim] (valid after
  // compile_decode); split over chips, each chip holds its own KV heads' cache.
  const Tensor& k_cache(int chip = 0) const;
  const Tensor& v_cache(int chip = 0) const;
  bool has_weights() const;
  // Chips the heads are split over (1: not split).
  int chips() const;

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
  struct Compiled;
  struct ChipWeights {
    Tensor wqkv, bqkv, wo;
  };
  struct ChipCache {
    Tensor k, v;  // [users, kv_heads, max_seq_len, head_dim], from compile_decode
  };
  // How the heads split over chips (the qkv_matmul config decides).
  HeadSplit split() const;
  Plan make_plan(Mode mode, int64_t batch, int64_t seq, int64_t cache_len, const HeadSplit& hs, int chip) const;
  ChipJoin make_join(Mode mode, const Plan& chip0, int ways) const;
  void run_prefill_chip(Plan& p, const Tensor& x, const ChipWeights& w, ChipCache* cache, int64_t first_user,
                        ops::ExecContext& ctx);
  // The all_reduce of the chips' partial outputs (the output itself on one chip).
  Tensor& reduce(Mode mode, bool full, ops::ExecContext& ctx);

  AttentionSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  std::vector<ChipWeights> chips_;  // one per chip the heads split over
  std::vector<ChipCache> caches_;
  std::shared_ptr<const ops::RotaryTables> rope_;
  Compiled& state(Mode mode);
  std::unique_ptr<Compiled> state_[2];
};

// Rotary tables are shared by every layer with the same head_dim, length and scaling.
std::shared_ptr<const ops::RotaryTables> shared_rotary_tables(const AttentionSpec& spec, int64_t length);

}  // namespace ttt
