// Memory per chip (memory_plan.hpp): what a configured tree holds in each chip's DRAM,
// from its resolved ops alone, and the configuration-time check of a root module that
// does not fit. Every tree here is built from a spec, without weights.
#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <set>

#include "../error_test_util.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/modules/memory_plan.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

using test::contains;

// The message of the error `fn` throws.
template <typename Fn>
std::string error_message(Fn&& fn) {
  return test::invalid_config_message(fn);
}

TEST(MemoryPlan, SumsWeightsOnceKvCachesAndBuffersPerChip) {
  const Transformer model(builtin_spec("llama-3.2-1b"), Device::open("ttnn:n150"));
  const MemoryPlan plan = plan_memory(model);
  // Weights once per op path (both modes share one copy), KV caches from the decode
  // kv_cache ops, every other output buffer by where it lives, once for all layers
  // (their buffers alias: activation_arena.hpp).
  std::map<std::string, int64_t> weights;
  int64_t kv = 0, dram = 0, l1 = 0;
  for (Mode mode : enum_values<Mode>()) {
    std::set<std::string> seen;
    for (const ResolvedOp& r : model.all_ops(mode)) {
      if (r.weight_bytes > 0) weights[r.path] = r.weight_bytes;
      if (r.shape.kind != OpKind::kv_cache && !seen.insert(layer_shared_key(r.path)).second) continue;
      if (r.shape.kind == OpKind::kv_cache) {
        if (mode == Mode::decode) kv += r.output_bytes;
      } else {
        (r.config.memory_config.buffer_type == BufferType::L1 ? l1 : dram) += r.output_bytes;
      }
    }
  }
  int64_t weight_sum = 0;
  for (const auto& [path, b] : weights) weight_sum += b;
  EXPECT_EQ(plan.weights, weight_sum);
  EXPECT_EQ(plan.kv_cache, kv);
  EXPECT_GT(plan.kv_cache, 0);
  EXPECT_EQ(plan.activations_dram, dram);
  EXPECT_EQ(plan.activations_l1, l1);
  EXPECT_EQ(plan.dram_needed(), plan.weights + plan.kv_cache + plan.activations_dram);
  EXPECT_EQ(plan.dram_per_chip, Device::spec_for("ttnn:n150").dram_per_chip);
  EXPECT_EQ(plan.chips, 1);
  EXPECT_TRUE(plan.fits());
  // Llama-3.2-1B: about 1.2 billion stored weights (embedding, layers, LM head).
  EXPECT_GT(plan.weights, 1LL << 30);
  EXPECT_LT(plan.weights, 3LL << 30);
  int64_t by_dtype = 0;
  for (const auto& [dt, b] : plan.weights_by_dtype) by_dtype += b;
  EXPECT_EQ(by_dtype, plan.weights);
  EXPECT_GT(plan.mlp_weights, plan.weights / 3);  // the embedding table and LM head are large in 1B
  EXPECT_LT(plan.mlp_weights_bfp4, plan.mlp_weights);
  EXPECT_TRUE(memory_problem(plan).empty());
}

TEST(MemoryPlan, MemoryTargetStoresLessThanLatency) {
  ModuleHardwareConfig latency("ttnn:n150"), memory("ttnn:n150");
  latency.optimization_target = OptimizationTarget::latency;
  memory.optimization_target = OptimizationTarget::memory;
  const TransformerSpec spec = builtin_spec("llama-3.2-1b");
  const Transformer a(spec, Device::open("ttnn:n150"), latency);
  const Transformer b(spec, Device::open("ttnn:n150"), memory);
  EXPECT_LT(plan_memory(b).weights, plan_memory(a).weights);
}

// Llama-3.1-70B does not fit one Wormhole chip: the error comes at configuration time,
// from the spec alone, with the bytes needed and available per chip and what would fit,
// in the same report as the decode head limit of one chip.
TEST(MemoryCheck, Llama70BOnN150FailsWithBytesPerChipAndASuggestion) {
  const std::string msg = error_message([] { Transformer(builtin_spec("llama-3.1-70b"), Device::open("ttnn:n150")); });
  EXPECT_TRUE(contains(
      msg,
      {"<root>: memory: needs", "of DRAM per chip but ttnn:n150 has 12.00 GiB (12884901888 bytes)", "per chip (1 chip)",
       "weights", "KV cache", "larger mesh", "ttnn:t3k (8 chips)", "bfloat4_b", "weights_dtype: BFLOAT4_B"}));
  // The op problems of the same tree are in the same report.
  EXPECT_TRUE(contains(msg, {"layers.0.attention.create_heads", "[decode]"}));
  // The bytes needed: more than 64 GiB of weights at one byte per weight or more.
  const std::size_t at = msg.find("memory: needs ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(msg.substr(at + 14)), 64.0) << msg;
}

// On t3k the tensor-parallel split puts an eighth of the matmul weights on each chip:
// 70B fits with every target, and the plan's bytes are one chip's.
TEST(MemoryCheck, Llama70BFitsT3kPerChip) {
  for (OptimizationTarget target : enum_values<OptimizationTarget>()) {
    ModuleHardwareConfig hw("ttnn:t3k");
    hw.optimization_target = target;
    const Transformer model(builtin_spec("llama-3.1-70b"), Device::open("ttnn:t3k"), hw);
    const MemoryPlan plan = plan_memory(model);
    EXPECT_TRUE(plan.fits()) << to_string(target) << ": " << memory_problem(plan);
    EXPECT_EQ(plan.chips, 8);
    EXPECT_LT(plan.weights, 12LL << 30) << to_string(target);  // of ~70 GiB at bfloat8_b
    EXPECT_GT(plan.weights, 4LL << 30) << to_string(target);
  }
}

TEST(MemoryCheck, Llama8BFitsOneWormholeChip) {
  for (OptimizationTarget target : enum_values<OptimizationTarget>()) {
    ModuleHardwareConfig hw("ttnn:n150");
    hw.optimization_target = target;
    const Transformer model(builtin_spec("llama-3.1-8b"), Device::open("ttnn:n150"), hw);
    const MemoryPlan plan = plan_memory(model);
    EXPECT_TRUE(plan.fits()) << to_string(target) << ": " << memory_problem(plan);
  }
}

// The check runs again whenever the shapes change: a KV cache too large for the chip
// fails resolve_configs (and compile), and the tree keeps its previous shapes.
TEST(MemoryCheck, KvCacheTooLargeForTheChipFailsAtResolve) {
  Transformer model(builtin_spec("llama-3.2-1b"), Device::open("ttnn:n150"));
  const ModuleShapes before = model.hw_config().shapes;
  const ModuleShapes huge{.prefill_batch = 1, .prefill_seq = 128, .decode_batch = 32, .cache_len = 32768};
  const std::string msg = error_message([&] { model.resolve_configs(huge); });
  EXPECT_TRUE(contains(msg, {"memory: needs", "KV cache", "fewer users or a shorter KV cache"}));
  EXPECT_TRUE(plan_memory(model).fits());
  for (const ResolvedOp& r : model.all_ops(Mode::decode)) {
    if (r.shape.kind == OpKind::kv_cache) {
      EXPECT_EQ(r.shape.kv_seq, before.cache_len) << r.path;
    }
  }
}

// A root module other than a Transformer is checked too (its own ops are the tree).
TEST(MemoryCheck, RootModuleIsChecked) {
  const MLPSpec wide{32768, 131072, MlpActivation::silu, true, false};
  const std::string msg = error_message([&] { MLP(wide, Device::open("ttnn:n150")); });
  EXPECT_TRUE(contains(msg, {"mlp: memory: needs", "ttnn:n150"}));
  // ... and fits a Blackhole chip's 32 GiB.
  const MLP on_p150(wide, Device::open("ttnn:p150"));
  EXPECT_TRUE(plan_memory(on_p150).fits());
}

// On the host nothing is checked: weights are memory-mapped from the cache.
TEST(MemoryCheck, CpuIsNotChecked) {
  const MLPSpec wide{32768, 131072, MlpActivation::silu, true, false};
  ModuleHardwareConfig hw("cpu");
  hw.shapes.prefill_seq = 32;
  EXPECT_NO_THROW(MLP(wide, Device::open("cpu"), hw));
}

}  // namespace
}  // namespace ttt
