// Overrides win over the module defaults: in code (op_configs, override_op_config) and in
// YAML, by op name, by path, by layer range and by mode. override_op_config re-applies
// and re-validates, and keeps the previous configs when the new one does not validate.
#include <gtest/gtest.h>

#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

// Llama-3.2-1B's shapes with fewer layers keep these tests fast.
TransformerSpec small_spec(int64_t layers = 6) {
  TransformerSpec s = builtin_spec("llama-3.2-1b");
  s.num_layers = layers;
  return s;
}

std::unique_ptr<Transformer> build(ModuleHardwareConfig hw, int64_t layers = 6) {
  const std::string device = hw.device.empty() ? "ttnn:n150" : hw.device;
  return std::make_unique<Transformer>(small_spec(layers), Device::open(device), std::move(hw));
}

ResolvedOp find(const Transformer& m, Mode mode, const std::string& path) {
  for (auto& r : m.all_ops(mode))
    if (r.path == path) return r;
  throw std::runtime_error("no op " + path);
}

ModuleHardwareConfig yaml(const std::string& text, const std::string& device = "ttnn:n150") {
  return ModuleHardwareConfig::from_yaml_string(text, device, "hw.yaml");
}

TEST(Overrides, CodeOverrideReplacesTheWholeConfig) {
  const auto defaults = build(ModuleHardwareConfig("ttnn:n150"));
  OpConfig cfg = find(*defaults, Mode::decode, "layers.2.attention.qkv_matmul").config;
  cfg.compute_kernel_config.math_fidelity = MathFidelity::HiFi4;
  cfg.memory_config = kDramInterleaved;
  ModuleHardwareConfig hw("ttnn:n150");
  hw.op_configs["decode.qkv_matmul"] = cfg;
  const auto m = build(hw);
  for (int i = 0; i < 6; ++i) {
    const ResolvedOp r = find(*m, Mode::decode, fmt::format("layers.{}.attention.qkv_matmul", i));
    EXPECT_EQ(r.source, ConfigSource::code);
    EXPECT_EQ(r.config, cfg);
    EXPECT_EQ(r.rule, "op_configs[\"decode.qkv_matmul\"]");
    // The prefill op keeps its default.
    EXPECT_EQ(find(*m, Mode::prefill, r.path).source, ConfigSource::module_default);
  }
}

TEST(Overrides, YamlMergesFieldByFieldOverTheDefault) {
  const auto defaults = build(ModuleHardwareConfig("ttnn:n150"));
  const auto m = build(yaml("ops:\n  ff1_matmul:\n    weights_dtype: BFLOAT4_B\n"));
  for (Mode mode : enum_values<Mode>()) {
    const ResolvedOp r = find(*m, mode, "layers.3.mlp.ff1_matmul");
    OpConfig expected = find(*defaults, mode, r.path).config;
    expected.weights_dtype = DataType::BFLOAT4_B;
    EXPECT_EQ(r.source, ConfigSource::yaml);
    EXPECT_EQ(r.config, expected);
    EXPECT_EQ(r.rule, "hw.yaml:2 ops.ff1_matmul");
    EXPECT_EQ(find(*m, mode, "layers.3.mlp.ff3_matmul").source, ConfigSource::module_default);
  }
}

TEST(Overrides, PerLayerRangeKey) {
  const auto m = build(yaml("ops:\n  layers.0-3.mlp.ff1_matmul: {weights_dtype: BFLOAT4_B}\n"));
  for (int i = 0; i < 6; ++i) {
    const ResolvedOp r = find(*m, Mode::decode, fmt::format("layers.{}.mlp.ff1_matmul", i));
    EXPECT_EQ(r.source, i <= 3 ? ConfigSource::yaml : ConfigSource::module_default) << r.path;
    EXPECT_EQ(r.config.weights_dtype, i <= 3 ? DataType::BFLOAT4_B : DataType::BFLOAT8_B) << r.path;
  }
}

TEST(Overrides, MoreSpecificKeyWinsWhateverTheOrder) {
  for (const char* text : {"ops:\n  ff2_matmul: {compute_kernel_config: {math_fidelity: HiFi4}}\n"
                           "  layers.1.mlp.ff2_matmul: {compute_kernel_config: {math_fidelity: LoFi}}\n",
                           "ops:\n  layers.1.mlp.ff2_matmul: {compute_kernel_config: {math_fidelity: LoFi}}\n"
                           "  ff2_matmul: {compute_kernel_config: {math_fidelity: HiFi4}}\n"}) {
    const auto m = build(yaml(text));
    EXPECT_EQ(find(*m, Mode::decode, "layers.1.mlp.ff2_matmul").config.compute_kernel_config.math_fidelity,
              MathFidelity::LoFi);
    EXPECT_EQ(find(*m, Mode::decode, "layers.2.mlp.ff2_matmul").config.compute_kernel_config.math_fidelity,
              MathFidelity::HiFi4);
  }
}

TEST(Overrides, ModePrefixAndIntents) {
  const auto m = build(yaml("ops:\n  decode.qkv_matmul: {memory: DRAM}\n  out_matmul: {precision: high}\n"));
  EXPECT_EQ(find(*m, Mode::decode, "layers.0.attention.qkv_matmul").config.memory_config, kDramInterleaved);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.0.attention.qkv_matmul").source, ConfigSource::module_default);
  for (Mode mode : enum_values<Mode>()) {
    const OpConfig& c = find(*m, mode, "layers.0.attention.out_matmul").config;
    EXPECT_EQ(c.weights_dtype, DataType::BFLOAT16);
    EXPECT_EQ(c.compute_kernel_config.math_fidelity, MathFidelity::HiFi4);
    EXPECT_TRUE(c.compute_kernel_config.fp32_dest_acc_en);
  }
}

TEST(Overrides, CodeWinsOverYaml) {
  ModuleHardwareConfig hw = yaml("ops:\n  lm_head_matmul: {weights_dtype: BFLOAT4_B}\n");
  const auto defaults = build(ModuleHardwareConfig("ttnn:n150"));
  OpConfig cfg = find(*defaults, Mode::decode, "lm_head.lm_head_matmul").config;
  cfg.weights_dtype = DataType::BFLOAT16;
  hw.op_configs["lm_head_matmul"] = cfg;
  const auto m = build(hw);
  const ResolvedOp r = find(*m, Mode::decode, "lm_head.lm_head_matmul");
  EXPECT_EQ(r.source, ConfigSource::code);
  EXPECT_EQ(r.config.weights_dtype, DataType::BFLOAT16);
}

TEST(Overrides, WeightCacheDtypeSetsMatmulWeights) {
  ModuleHardwareConfig hw("cpu");
  hw.weight_cache_dtype = DataType::BFLOAT8_B;
  const auto m = build(hw, 2);
  for (Mode mode : enum_values<Mode>())
    for (const auto& r : m->all_ops(mode))
      if (r.shape.kind == OpKind::matmul) {
        EXPECT_EQ(r.config.weights_dtype, DataType::BFLOAT8_B) << r.path;
      }
}

TEST(Overrides, UnknownOpInCodeListsTheOps) {
  ModuleHardwareConfig hw("ttnn:n150");
  hw.op_configs["qkv_matmull"] = OpConfig{};
  try {
    build(hw, 1);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("op_configs[\"qkv_matmull\"]: unknown op"), std::string::npos) << m;
    EXPECT_NE(m.find("qkv_matmul, "), std::string::npos) << m;
  }
}

TEST(Overrides, WeightsDtypeMustAgreeAcrossModesWithoutWeights) {
  try {
    build(yaml("ops:\n  decode.ff1_matmul: {weights_dtype: BFLOAT4_B}\n"), 2);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("layers.0.mlp.ff1_matmul: weights_dtype is BFLOAT8_B in prefill but BFLOAT4_B in decode"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("layers.1.mlp.ff1_matmul"), std::string::npos) << m;
  }
}

TEST(Overrides, EveryProblemOfTheTreeInOneError) {
  // One impossible value for two modules' ops: both are reported, for every layer,
  // with the mode and where the config came from.
  try {
    build(yaml("ops:\n  decode.qkv_matmul: {kernel_config: {matmul_1d: {in0_block_w: 3}}}\n"
               "  decode.ff2_matmul: {kernel_config: {matmul_1d: {in0_block_w: 5}}}\n"),
          3);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("6 problems"), std::string::npos) << m;
    for (int i = 0; i < 3; ++i) {
      EXPECT_NE(m.find(fmt::format("layers.{}.attention.qkv_matmul:", i)), std::string::npos) << m;
      EXPECT_NE(m.find(fmt::format("layers.{}.mlp.ff2_matmul:", i)), std::string::npos) << m;
    }
    EXPECT_NE(m.find("in0_block_w 3 does not divide K tiles 64"), std::string::npos) << m;
    EXPECT_NE(m.find("[decode; config from hw.yaml:2 ops.decode.qkv_matmul]"), std::string::npos) << m;
    EXPECT_NE(m.find("[decode; config from hw.yaml:3 ops.decode.ff2_matmul]"), std::string::npos) << m;
  }
}

TEST(OverrideOpConfig, ReappliesAndRevalidates) {
  auto m = build(ModuleHardwareConfig("ttnn:n150"), 3);
  const ResolvedOp before = find(*m, Mode::decode, "layers.1.mlp.ff2_matmul");
  // A key without a mode sets both: the prefill program config (2-D) also fits decode's
  // single tile row, and one weights_dtype serves both modes.
  OpConfig cfg = find(*m, Mode::prefill, "layers.1.mlp.ff2_matmul").config;
  cfg.weights_dtype = DataType::BFLOAT4_B;
  cfg.compute_kernel_config = {MathFidelity::LoFi, true, false, true};
  m->override_op_config("layers.1.mlp.ff2_matmul", cfg);
  const ResolvedOp after = find(*m, Mode::decode, "layers.1.mlp.ff2_matmul");
  EXPECT_EQ(after.source, ConfigSource::code);
  EXPECT_EQ(after.config, cfg);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.1.mlp.ff2_matmul").config, cfg);
  // Re-validated: cost and bytes follow the new config (bfloat4_b weights are smaller).
  EXPECT_LT(after.weight_bytes, before.weight_bytes);
  EXPECT_GT(after.cost.total_s(), 0.0);
  EXPECT_EQ(find(*m, Mode::decode, "layers.0.mlp.ff2_matmul").config, before.config);
}

TEST(OverrideOpConfig, OnAChildAnchorsAtThatChild) {
  auto m = build(ModuleHardwareConfig("ttnn:n150"), 3);
  OpConfig cfg = find(*m, Mode::prefill, "layers.2.attention.out_matmul").config;
  cfg.memory_config = kL1Interleaved;
  m->layer(2).attention().override_op_config("out_matmul", cfg);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.2.attention.out_matmul").config.memory_config, kL1Interleaved);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.1.attention.out_matmul").config.memory_config, kDramInterleaved);
}

TEST(OverrideOpConfig, FailureKeepsThePreviousConfig) {
  auto m = build(ModuleHardwareConfig("ttnn:n150"), 2);
  const auto before_pre = m->all_ops(Mode::prefill);
  const auto before_dec = m->all_ops(Mode::decode);
  OpConfig bad = find(*m, Mode::decode, "layers.0.attention.qkv_matmul").config;
  std::get<Matmul1DConfig>(bad.kernel_config).in0_block_w = 3;  // K = 64 tiles
  try {
    m->override_op_config("decode.qkv_matmul", bad);
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    EXPECT_NE(msg.find("layers.0.attention.qkv_matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("in0_block_w 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("config from op_configs[\"decode.qkv_matmul\"]"), std::string::npos) << msg;
  }
  for (const auto* before : {&before_pre, &before_dec}) {
    const Mode mode = before == &before_pre ? Mode::prefill : Mode::decode;
    const auto now = m->all_ops(mode);
    ASSERT_EQ(now.size(), before->size());
    for (std::size_t i = 0; i < now.size(); ++i) {
      EXPECT_EQ(now[i].config, (*before)[i].config) << now[i].path;
      EXPECT_EQ(now[i].source, (*before)[i].source) << now[i].path;
      EXPECT_EQ(now[i].cost.total_s(), (*before)[i].cost.total_s()) << now[i].path;
      EXPECT_EQ(now[i].weight_bytes, (*before)[i].weight_bytes) << now[i].path;
    }
  }
  EXPECT_TRUE(m->hw_config().op_configs.empty());
  // A later valid override still works.
  OpConfig good = find(*m, Mode::decode, "layers.0.attention.qkv_matmul").config;
  good.memory_config = kDramInterleaved;
  m->override_op_config("decode.qkv_matmul", good);
  EXPECT_EQ(find(*m, Mode::decode, "layers.1.attention.qkv_matmul").config, good);
}

TEST(Shapes, ConstructionValidatesAtTheHardwareConfigsShapes) {
  // A 512-key SDPA chunk fits a 4096-position cache, not the nominal 128 one.
  const std::string text = "ops:\n  decode.sdpa: {kernel_config: {sdpa: {k_chunk_size: 512}}}\n";
  try {
    build(yaml(text), 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k_chunk_size 512"), std::string::npos) << e.what();
  }
  const auto m =
      build(yaml("shapes: {prefill_batch: 1, prefill_seq: 2048, decode_batch: 32, cache_len: 4096}\n" + text), 1);
  EXPECT_EQ(m->hw_config().shapes, (ModuleShapes{1, 2048, 32, 4096}));
  const ResolvedOp sdpa = find(*m, Mode::decode, "layers.0.attention.sdpa");
  EXPECT_EQ(sdpa.shape.kv_seq, 4096);
  EXPECT_EQ(std::get<SdpaConfig>(sdpa.config.kernel_config).k_chunk_size, 512);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.0.attention.qkv_matmul").shape.m, 2048);
  EXPECT_THROW(yaml("shapes: {prefill_seq: many}\n"), Error);
  EXPECT_THROW(build(yaml("shapes: {decode_batch: 0}\n"), 1), Error);
}

TEST(ResolveConfigs, FollowsTheShapesAndKeepsThePreviousOnFailure) {
  auto m = build(ModuleHardwareConfig("ttnn:n150"), 2);
  const auto nominal = m->all_ops(Mode::prefill);
  m->resolve_configs(ModuleShapes{.prefill_batch = 1, .prefill_seq = 2048, .decode_batch = 32, .cache_len = 4096});
  const auto qkv = find(*m, Mode::prefill, "layers.0.attention.qkv_matmul");
  EXPECT_EQ(qkv.shape.m, 2048);
  EXPECT_EQ(std::get<Matmul2DConfig>(qkv.config.kernel_config).per_core_M, 8);  // 64 M tiles over 8 rows
  EXPECT_EQ(find(*m, Mode::decode, "layers.0.attention.sdpa").shape.kv_seq, 4096);
  // 64 users exceed what the decode head ops take: an error, and the last good shapes stay.
  EXPECT_THROW(
      m->resolve_configs(ModuleShapes{.prefill_batch = 1, .prefill_seq = 128, .decode_batch = 64, .cache_len = 128}),
      Error);
  EXPECT_EQ(find(*m, Mode::prefill, "layers.0.attention.qkv_matmul").shape.m, 2048);
  EXPECT_GT(find(*m, Mode::prefill, "layers.0.attention.qkv_matmul").cost.total_s(), 0.0);
  m->resolve_configs(ModuleShapes{});
  const auto again = m->all_ops(Mode::prefill);
  ASSERT_EQ(again.size(), nominal.size());
  for (std::size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].config, nominal[i].config) << again[i].path;
}

}  // namespace
}  // namespace ttt
