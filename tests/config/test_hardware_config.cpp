#include <gtest/gtest.h>

#include "ttt/hardware_config.hpp"
#include "ttt/yaml_fields.hpp"

namespace ttt {
namespace {

OpConfig sample_config() {
  OpConfig c;
  c.op_name = "qkv_matmul";
  c.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                 ShardSpec{CoreGrid{8, 4}, {32, 2048}, ShardOrientation::ROW_MAJOR}};
  Matmul2DConfig mm;
  mm.grid = CoreGrid{8, 4};
  mm.in0_block_w = 4;
  mm.per_core_M = 2;
  mm.per_core_N = 3;
  mm.fused_activation = UnaryActivation::SILU;
  c.kernel_config = mm;
  c.compute_kernel_config = {MathFidelity::HiFi2, false, true, true};
  c.dtype = DataType::FLOAT32;
  c.weights_dtype = DataType::BFLOAT8_B;
  return c;
}

TEST(ConfigFields, YamlRoundTripIsEqual) {
  const OpConfig c = sample_config();
  YAML::Emitter out;
  out << to_yaml(c);
  OpConfig back;
  merge_yaml(YAML::Load(out.c_str()), back, YamlContext{"round_trip.yaml", ""});
  EXPECT_EQ(back, c) << out.c_str();
  EXPECT_EQ(fields_hash(back), fields_hash(c));
}

TEST(ConfigFields, HashAndPrintFollowEveryField) {
  OpConfig a = sample_config();
  OpConfig b = a;
  b.compute_kernel_config.packer_l1_acc = false;
  EXPECT_NE(fields_hash(a), fields_hash(b));
  const std::string text = field_str(a);
  for (const char* part : {"HEIGHT_SHARDED", "matmul_2d", "in0_block_w: 4", "HiFi2", "BFLOAT8_B", "SILU"})
    EXPECT_NE(text.find(part), std::string::npos) << text;
}

TEST(ConfigFields, PartialMergeKeepsOtherFields) {
  OpConfig c = sample_config();
  merge_yaml(YAML::Load("{compute_kernel_config: {math_fidelity: LoFi}}"), c, YamlContext{"f.yaml", ""});
  EXPECT_EQ(c.compute_kernel_config.math_fidelity, MathFidelity::LoFi);
  EXPECT_TRUE(c.compute_kernel_config.fp32_dest_acc_en);
  EXPECT_EQ(c.dtype, DataType::FLOAT32);
}

std::string error_of(const std::string& yaml) {
  try {
    OpConfig c;
    merge_yaml(YAML::Load(yaml), c, YamlContext{"bad.yaml", ""});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    return e.what();
  }
  return "";
}

TEST(ConfigFields, ErrorsNameFileLineKeyAndAcceptedValues) {
  std::string e = error_of("dtype: BFLOAT8_B\nmemory_config:\n  buffer_type: SRAM\n");
  EXPECT_NE(e.find("bad.yaml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("memory_config.buffer_type"), std::string::npos) << e;
  EXPECT_NE(e.find("DRAM, L1"), std::string::npos) << e;

  e = error_of("dtpe: BFLOAT16\n");
  EXPECT_NE(e.find("unknown field 'dtpe'"), std::string::npos) << e;
  EXPECT_NE(e.find("weights_dtype"), std::string::npos) << e;

  e = error_of("compute_kernel_config: {fp32_dest_acc_en: maybe}\n");
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;

  e = error_of("kernel_config: {matmul_3d: {}}\n");
  EXPECT_NE(e.find("matmul_2d"), std::string::npos) << e;

  e = error_of("kernel_config: {matmul_2d: {in0_block_w: four}}\n");
  EXPECT_NE(e.find("kernel_config.matmul_2d.in0_block_w"), std::string::npos) << e;
  EXPECT_NE(e.find("integer"), std::string::npos) << e;
}

TEST(OpPaths, MatchingAndSpecificity) {
  EXPECT_EQ(match_op_path("qkv_matmul", "layers.3.attention.qkv_matmul", Mode::prefill), 1);
  EXPECT_EQ(match_op_path("attention.qkv_matmul", "layers.3.attention.qkv_matmul", Mode::prefill), 2);
  EXPECT_EQ(match_op_path("layers.0-3.attention.qkv_matmul", "layers.3.attention.qkv_matmul", Mode::decode), 4);
  EXPECT_EQ(match_op_path("layers.0-3.attention.qkv_matmul", "layers.4.attention.qkv_matmul", Mode::decode), -1);
  EXPECT_EQ(match_op_path("layers.*.mlp.ff1_matmul", "layers.9.mlp.ff1_matmul", Mode::decode), 4);
  EXPECT_EQ(match_op_path("layers.1,5.mlp.ff1_matmul", "layers.5.mlp.ff1_matmul", Mode::decode), 4);
  EXPECT_EQ(match_op_path("decode.qkv_matmul", "layers.3.attention.qkv_matmul", Mode::decode), 2);
  EXPECT_EQ(match_op_path("decode.qkv_matmul", "layers.3.attention.qkv_matmul", Mode::prefill), -1);
  EXPECT_EQ(match_op_path("ff1_matmul", "layers.3.attention.qkv_matmul", Mode::prefill), -1);
}

TEST(ModuleHardwareConfig, CodeOverridesByPath) {
  ModuleHardwareConfig hw("ttnn:n150");
  hw.op_configs["qkv_matmul"] = sample_config();
  OpConfig specific = sample_config();
  specific.dtype = DataType::BFLOAT16;
  hw.op_configs["layers.0.attention.qkv_matmul"] = specific;
  ASSERT_NE(hw.get_op_config("layers.1.attention.qkv_matmul"), nullptr);
  EXPECT_EQ(hw.get_op_config("layers.1.attention.qkv_matmul")->dtype, DataType::FLOAT32);
  EXPECT_EQ(hw.get_op_config("layers.0.attention.qkv_matmul")->dtype, DataType::BFLOAT16);
  EXPECT_EQ(hw.get_op_config("layers.0.mlp.ff1_matmul"), nullptr);
}

TEST(ModuleHardwareConfig, ReadsTheSeedsDeclarativeForm) {
  const auto hw = ModuleHardwareConfig::from_yaml_string(R"(optimization_target: latency
activation_cache_policy: auto
ops:
  qkv_matmul:
    precision: high
    memory: L1
  layers.0-3.mlp.ff1_matmul:
    weights_dtype: BFLOAT4_B
)",
                                                         "ttnn:n150", "hw.yaml");
  EXPECT_EQ(hw.optimization_target, OptimizationTarget::latency);
  EXPECT_EQ(hw.activation_cache_policy, CachePolicy::auto_);
  ASSERT_EQ(hw.yaml_overrides.size(), 2u);
  EXPECT_EQ(hw.yaml_overrides[0].key, "qkv_matmul");
  EXPECT_EQ(hw.yaml_overrides[0].line, 4);
  EXPECT_EQ(hw.yaml_overrides[1].key, "layers.0-3.mlp.ff1_matmul");
}

TEST(ModuleHardwareConfig, TopLevelErrors) {
  try {
    ModuleHardwareConfig::from_yaml_string("optimization_target: fastest\n", "cpu", "t.yaml");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("t.yaml:1"), std::string::npos) << m;
    EXPECT_NE(m.find("latency, memory, balanced"), std::string::npos) << m;
  }
  try {
    ModuleHardwareConfig::from_yaml_string("optimisation_target: latency\n", "cpu", "t.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("optimization_target"), std::string::npos) << e.what();
  }
  try {
    ModuleHardwareConfig::from_yaml_string("ops: [a, b]\n", "cpu", "t.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mapping"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ModuleHardwareConfig::from_yaml_string("ops: {a: [\n", "cpu", "t.yaml"), Error);
  EXPECT_THROW(ModuleHardwareConfig::from_yaml_file("/nonexistent/hw.yaml"), Error);
}

}  // namespace
}  // namespace ttt
