// Intent-level op settings: optimization_target on one op takes that target's column of
// the precision table, and finer intents or fields written beside it win over it.
#include <gtest/gtest.h>

#include "ttt/intents.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

std::unique_ptr<Transformer> build(const std::string& yaml, const std::string& device = "ttnn:n150") {
  TransformerSpec s = builtin_spec("llama-3.2-1b");
  s.num_layers = 2;
  return std::make_unique<Transformer>(s, Device::open(device),
                                       ModuleHardwareConfig::from_yaml_string(yaml, device, "hw.yaml"));
}

ResolvedOp find(const Transformer& m, Mode mode, const std::string& path) {
  for (auto& r : m.all_ops(mode))
    if (r.path == path) return r;
  throw std::runtime_error("no op " + path);
}

TEST(Intents, OpLevelOptimizationTargetTakesTheTargetsColumn) {
  const auto defaults = build("");
  const auto latency = build("optimization_target: latency\n");
  const auto m = build("ops:\n  ff1_matmul: {optimization_target: latency}\n");
  for (Mode mode : enum_values<Mode>()) {
    const OpConfig& got = find(*m, mode, "layers.1.mlp.ff1_matmul").config;
    const OpConfig& want = find(*latency, mode, "layers.1.mlp.ff1_matmul").config;
    EXPECT_EQ(got.weights_dtype, DataType::BFLOAT4_B);
    EXPECT_EQ(got.weights_dtype, want.weights_dtype);
    EXPECT_EQ(got.compute_kernel_config, want.compute_kernel_config);
    EXPECT_EQ(got.memory_config, want.memory_config);
    // Other ops keep the balanced defaults.
    EXPECT_EQ(find(*m, mode, "layers.1.mlp.ff2_matmul").config, find(*defaults, mode, "layers.1.mlp.ff2_matmul").config);
  }
}

TEST(Intents, MemoryTargetOnTheKvCacheAndFinerIntentsWin) {
  const auto m = build(
      "ops:\n  mlp.ff2_matmul: {optimization_target: memory, precision: high}\n"
      "  out_matmul: {precision: high, optimization_target: memory}\n"
      "  qkv_matmul: {optimization_target: memory, weights_dtype: BFLOAT16}\n");
  for (const char* path : {"layers.0.mlp.ff2_matmul", "layers.0.attention.out_matmul"}) {
    const OpConfig& c = find(*m, Mode::decode, path).config;
    EXPECT_EQ(c.weights_dtype, DataType::BFLOAT16) << path;  // precision: high, in whatever order
    EXPECT_EQ(c.compute_kernel_config.math_fidelity, MathFidelity::HiFi4) << path;
    EXPECT_EQ(c.memory_config, kDramInterleaved) << path;  // the memory target keeps outputs in DRAM
  }
  const OpConfig& qkv = find(*m, Mode::decode, "layers.0.attention.qkv_matmul").config;
  EXPECT_EQ(qkv.weights_dtype, DataType::BFLOAT16);
  EXPECT_EQ(qkv.memory_config, kDramInterleaved);
}

TEST(Intents, UnknownTargetListsTheAccepted) {
  try {
    build("ops:\n  sdpa: {optimization_target: fastest}\n");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("hw.yaml:2"), std::string::npos) << m;
    EXPECT_NE(m.find("accepted: latency, memory, balanced"), std::string::npos) << m;
  }
}

TEST(Intents, EveryIntentResolvesOnEveryDeviceForMatmuls) {
  // Matmul weights take every precision; the table in docs/hardware_config.md marks the
  // ops that refuse an intent.
  for (const std::string device : {"cpu", "ttnn:n150", "ttnn:p150"})
    for (const Intent& i : all_intents()) {
      if (i.key == "memory" && i.value == "L1" && device != "cpu") continue;  // checked by the table
      EXPECT_NO_THROW(build(fmt::format("ops:\n  mlp.ff1_matmul: {}\n", i.yaml()), device)) << device << " " << i.yaml();
    }
}

}  // namespace
}  // namespace ttt
