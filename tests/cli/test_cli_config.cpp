// ttt config show | dump | validate, end to end through the command.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "cli_runner.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt::test {
namespace {

namespace fs = std::filesystem;

class CliConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ttt_cli_config_{}_{}", getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// The table row of an op: the line that starts with its path.
std::string row(const std::string& out, const std::string& path) {
  std::size_t pos = 0;
  while ((pos = out.find(fmt::format("{} ", path), pos)) != std::string::npos) {
    if (pos == 0 || out[pos - 1] == '\n') return out.substr(pos, out.find('\n', pos) - pos);
    ++pos;
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CliConfig, ShowListsEveryOpWithItsSourceMemoryAndTime) {
  const CliResult r = run_cli("config show --spec llama-3.2-1b --device ttnn:n150 --mode decode");
  ASSERT_EQ(r.code, 0) << r.out;
  const Transformer model(builtin_spec("llama-3.2-1b"), Device::open("ttnn:n150"));
  for (const ResolvedOp& op : model.all_ops(Mode::decode)) {
    const std::string line = row(r.out, op.path);
    ASSERT_FALSE(line.empty()) << op.path << " missing in:\n" << r.out;
    EXPECT_TRUE(has(line, " default ")) << line;
    EXPECT_TRUE(has(line, op.rule)) << line;
    EXPECT_TRUE(has(line, " us ") || has(line, " ms ")) << line;
  }
  EXPECT_TRUE(has(row(r.out, "layers.0.attention.qkv_matmul"), "bfp8_b")) << r.out;
  EXPECT_TRUE(has(row(r.out, "layers.0.attention.qkv_matmul"), "1d 8x8")) << r.out;
  for (const char* part : {"llama-3.2-1b on ttnn:n150, decode", "totals (decode", "weights ", "KV cache ", "DRAM ",
                           "L1 ", "time per layer", "per decode step", "tokens/s per user"})
    EXPECT_TRUE(has(r.out, part)) << part << " missing in:\n" << r.out;
  EXPECT_FALSE(has(r.out, ", prefill:")) << r.out;
}

TEST_F(CliConfig, ShowBothModesAtGivenShapesWithYamlSources) {
  const std::string hw =
      write("hw.yaml", "optimization_target: latency\nops:\n  layers.0-3.mlp.ff1_matmul: {weights_dtype: BFLOAT8_B}\n");
  const CliResult r =
      run_cli(fmt::format("config show --spec llama-3.2-1b --device ttnn:p150 --hw-config {} --batch 4 "
                          "--seq-len 256",
                          hw));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "prefill: 4 users x 256 tokens; optimization target latency")) << r.out;
  EXPECT_TRUE(has(r.out, "decode: 4 users, KV cache of 256 positions")) << r.out;
  const std::string yaml_row = row(r.out, "layers.3.mlp.ff1_matmul");
  EXPECT_TRUE(has(yaml_row, " yaml ") && has(yaml_row, "hw.yaml:3 ops.layers.0-3.mlp.ff1_matmul")) << yaml_row;
  EXPECT_TRUE(has(yaml_row, "bfp8_b")) << yaml_row;
  const std::string default_row = row(r.out, "layers.4.mlp.ff1_matmul");
  EXPECT_TRUE(has(default_row, " default ") && has(default_row, "bfp4_b")) << default_row;
}

TEST_F(CliConfig, ShowBuildsAModelDirectoryWithoutWeights) {
  const char* env = std::getenv("TTT_MODELS_DIR");
  const fs::path models = env && *env ? fs::path(env) : fs::path(TTT_SOURCE_DIR) / ".." / "shared" / "models";
  if (!fs::exists(models / "stories260K" / "config.json")) GTEST_SKIP() << "no bundled model in " << models;
  const CliResult r = run_cli(fmt::format("config show --model {} --mode prefill", (models / "stories260K").string()));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "stories260K on cpu, prefill")) << r.out;
  EXPECT_FALSE(row(r.out, "layers.4.mlp.ff2_matmul").empty()) << r.out;
}

// Dump, load with --hw-config, resolve again: every op's OpConfig is equal.
TEST_F(CliConfig, DumpLoadsBackToAnEqualResolvedConfig) {
  struct Case {
    const char* device;
    const char* target;
    const char* overrides;
    const char* shapes;
    ModuleShapes resolved;
  };
  const Case cases[] = {
      {"cpu", "latency", "", "", ModuleShapes{}},
      {"ttnn:n150", "balanced",
       "ops:\n  layers.1.attention.out_matmul: {precision: high}\n  decode.sdpa: {tiling: conservative}\n"
       "  prefill.ff2_matmul: {memory: L1}\n",
       // 32 users x 128 tokens: a 32 x 1024 prefill's buffers (47 GiB) would not fit the chip.
       "--batch 32 --seq-len 128", ModuleShapes{32, 128, 32, 128}},
      {"ttnn:p150", "memory", "", "--seq-len 2048", ModuleShapes{1, 2048, 1, 2048}},
  };
  const TransformerSpec spec = builtin_spec("llama-3.2-1b");
  for (const Case& c : cases) {
    const std::string input = write("in.yaml", c.overrides);
    const std::string out = path(fmt::format("dump_{}.yaml", c.target));
    const CliResult r =
        run_cli(fmt::format("config dump --spec llama-3.2-1b --device {} --target {} --hw-config {} {} -o {}", c.device,
                            c.target, input, c.shapes, out));
    ASSERT_EQ(r.code, 0) << r.out;

    ModuleHardwareConfig original = ModuleHardwareConfig::from_yaml_file(input, c.device);
    original.optimization_target = parse_enum<OptimizationTarget>(c.target);
    original.shapes = c.resolved;
    const Transformer expected(spec, Device::open(c.device), original);

    // The file carries the shapes it was resolved for: construction validates at them.
    const ModuleHardwareConfig loaded = ModuleHardwareConfig::from_yaml_file(out);
    EXPECT_EQ(loaded.device, c.device);
    EXPECT_EQ(to_string(loaded.optimization_target), c.target);
    EXPECT_EQ(loaded.shapes, c.resolved);
    Transformer again(spec, Device::open(loaded.device), loaded);
    for (Mode mode : enum_values<Mode>()) {
      const auto a = expected.all_ops(mode), b = again.all_ops(mode);
      ASSERT_EQ(a.size(), b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].path, b[i].path);
        EXPECT_EQ(a[i].config, b[i].config) << c.device << " " << to_string(mode) << " " << a[i].path << "\n"
                                            << field_str(a[i].config) << "\n"
                                            << field_str(b[i].config);
        EXPECT_EQ(b[i].source, ConfigSource::yaml) << b[i].path;
      }
    }
    const CliResult v = run_cli(fmt::format("config validate {} --spec llama-3.2-1b", out));
    EXPECT_EQ(v.code, 0) << v.out;
    EXPECT_EQ(v.out.rfind("ok", 0), 0u) << v.out;
  }
}

TEST_F(CliConfig, DumpOfOneModeLeavesTheOtherAtItsDefaults) {
  const std::string out = path("decode.yaml");
  ASSERT_EQ(run_cli(fmt::format("config dump --spec llama-3.2-1b --device ttnn:n300 --mode decode -o {}", out)).code,
            0);
  const Transformer model(builtin_spec("llama-3.2-1b"), Device::open("ttnn:n300"),
                          ModuleHardwareConfig::from_yaml_file(out));
  for (const auto& r : model.all_ops(Mode::decode)) EXPECT_EQ(r.source, ConfigSource::yaml) << r.path;
  for (const auto& r : model.all_ops(Mode::prefill)) EXPECT_EQ(r.source, ConfigSource::module_default) << r.path;
  // Without -o the YAML goes to standard output.
  const CliResult r = run_cli("config dump --spec llama-3.2-1b --device cpu --mode prefill");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "optimization_target: balanced")) << r.out.substr(0, 400);
  EXPECT_TRUE(has(r.out, "  prefill.layers.15.mlp.ff2_matmul:\n    op_name: ff2_matmul")) << r.out.substr(0, 400);
}

TEST_F(CliConfig, ValidatePrintsOkForAGoodFile) {
  const std::string f = write("good.yaml",
                              "optimization_target: latency\nops:\n  layers.0-3.mlp.ff1_matmul: {precision: high}\n"
                              "  decode.qkv_matmul: {memory: DRAM}\n");
  const CliResult r = run_cli(fmt::format("config validate {} --spec llama-3.2-1b --device ttnn:n150", f));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("ok", 0), 0u) << r.out;
}

// Every kind of YAML error: exit code 1, and the message names the file, line, key and
// what is accepted.
TEST_F(CliConfig, ValidateReportsEveryYamlError) {
  struct Case {
    const char* yaml;
    std::vector<const char*> parts;
  };
  const Case cases[] = {
      {"ops:\n  qkv_matmull: {dtype: BFLOAT16}\n",
       {"bad.yaml:2: unknown op 'ops.qkv_matmull'", "accepted op names: ", "qkv_matmul, "}},
      {"ops:\n  layers.99.mlp.ff1_matmul: {dtype: BFLOAT16}\n",
       {"bad.yaml:2: unknown op 'ops.layers.99.mlp.ff1_matmul'"}},
      {"ops:\n  qkv_matmul:\n    dtpe: BFLOAT16\n",
       {"bad.yaml:3: key 'ops.qkv_matmul.dtpe': unknown field 'dtpe'; accepted: precision, memory, tiling",
        "weights_dtype"}},
      {"ops:\n  ff1_matmul:\n    compute_kernel_config: {fp32_dest_acc_en: maybe}\n",
       {"bad.yaml:3: key 'ops.ff1_matmul.compute_kernel_config.fp32_dest_acc_en'",
        "expected true or false but found 'maybe'"}},
      {"ops:\n  ff1_matmul:\n    kernel_config: {matmul_1d: {in0_block_w: four}}\n",
       {"bad.yaml:3: key 'ops.ff1_matmul.kernel_config.matmul_1d.in0_block_w'", "expected an integer"}},
      {"ops:\n  ff1_matmul: {weights_dtype: BFLOAT7}\n",
       {"bad.yaml:2: key 'ops.ff1_matmul.weights_dtype': unknown value 'BFLOAT7'",
        "accepted: FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B"}},
      {"ops:\n  ff1_matmul: {kernel_config: {matmul_3d: {}}}\n",
       {"bad.yaml:2", "ops.ff1_matmul.kernel_config", "unknown kind 'matmul_3d'", "matmul_2d, matmul_1d"}},
      {"ops:\n  sdpa: {precision: ultra}\n", {"bad.yaml:2: key 'ops.sdpa.precision'", "accepted: high, medium, low"}},
      {"ops:\n  sdpa: {tiling: fancy}\n", {"bad.yaml:2: key 'ops.sdpa.tiling'", "accepted: aggressive, conservative"}},
      {"ops:\n  rotary: {memory: SRAM}\n", {"bad.yaml:2: key 'ops.rotary.memory'", "accepted: DRAM, L1"}},
      {"optimisation_target: latency\n",
       {"bad.yaml:1: key 'optimisation_target': unknown key 'optimisation_target'", "accepted: optimization_target"}},
      {"optimization_target: fastest\n", {"bad.yaml:1: key 'optimization_target'", "latency, memory, balanced"}},
      {"ops: {a: [\n", {"bad.yaml:", "YAML syntax error"}},
      {"ops:\n  - qkv_matmul\n", {"bad.yaml:2: key 'ops'", "expected a mapping of op paths"}},
      // Impossible values: every op and layer they break, with the mode, the rule that
      // fails, what would fit, and where the config came from.
      {"ops:\n  decode.qkv_matmul:\n    kernel_config: {matmul_1d: {in0_block_w: 3}}\n",
       {"layers.0.attention.qkv_matmul: ", "layers.15.attention.qkv_matmul: ",
        "in0_block_w 3 does not divide K tiles 64", "use 1, 2, 4, 8, 16, 32 or 64", "[decode; config from ",
        "bad.yaml:2 ops.decode.qkv_matmul]"}},
      {"ops:\n  decode.swiglu_mul:\n    memory_config: {memory_layout: HEIGHT_SHARDED, buffer_type: L1,\n"
       "                    shard_spec: {grid: {x: 8, y: 8}, shape: [32, 100]}}\n",
       {"layers.0.mlp.swiglu_mul: ", "bad.yaml:2 ops.decode.swiglu_mul]"}},
      {"ops:\n  decode.ff1_matmul: {weights_dtype: BFLOAT4_B}\n",
       {"layers.0.mlp.ff1_matmul: weights_dtype is BFLOAT8_B in prefill but BFLOAT4_B in decode"}},
      {"device: ttnn:n151\n", {"ttnn:n151", "ttnn:n150"}},
      {"device: ttnn:p150\n", {"the file is for device 'ttnn:p150'", "--device is 'ttnn:n150'"}},
  };
  for (const Case& c : cases) {
    const std::string f = write("bad.yaml", c.yaml);
    const CliResult r = run_cli(fmt::format("config validate {} --spec llama-3.2-1b --device ttnn:n150", f));
    EXPECT_EQ(r.code, 1) << c.yaml << "\n" << r.out;
    for (const char* part : c.parts)
      EXPECT_TRUE(has(r.out, part)) << "'" << part << "' missing for:\n" << c.yaml << "\n" << r.out;
    EXPECT_FALSE(has(r.out, "\nok")) << r.out;
  }
}

TEST_F(CliConfig, ValidateListsEveryProblemOnItsOwnLine) {
  const std::string f = write("bad.yaml",
                              "ops:\n  qkv_matmull: {dtype: BFLOAT16}\n  ff1_matmul: {dtpe: BFLOAT16}\n"
                              "  sdpa: {compute_kernel_config: {packer_l1_acc: sometimes}}\n"
                              "  layers.5.attention.out_matmul: {kernel_config: {matmul_2d: {in0_block_w: 3}}}\n");
  const CliResult r = run_cli(fmt::format("config validate {} --spec llama-3.1-8b --device ttnn:t3k", f));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "bad.yaml:2: unknown op 'ops.qkv_matmull'")) << r.out;
  EXPECT_TRUE(has(r.out, fmt::format("\n{}:3: key 'ops.ff1_matmul.dtpe'", path("bad.yaml")))) << r.out;
  EXPECT_TRUE(has(r.out, fmt::format("\n{}:4: key 'ops.sdpa.compute_kernel_config.packer_l1_acc'", path("bad.yaml"))))
      << r.out;
  // The readable overrides are applied to the tree: what their values break is listed too
  // (on t3k out_matmul holds one chip's 4 heads of 128: K = 512, 16 tiles).
  EXPECT_TRUE(has(r.out, "\nlayers.5.attention.out_matmul: matmul: in0_block_w 3 does not divide K tiles 16")) << r.out;
  EXPECT_TRUE(has(r.out, "bad.yaml:5 ops.layers.5.attention.out_matmul]")) << r.out;
  EXPECT_TRUE(has(r.out, "bad.yaml: 5 problems")) << r.out;
}

TEST_F(CliConfig, ValidateWithoutAModelChecksTheFileOnItsOwn) {
  const std::string good =
      write("good.yaml", "device: ttnn:n150\nops:\n  layers.40.mlp.ff1_matmul: {weights_dtype: BFLOAT4_B}\n");
  CliResult r = run_cli(fmt::format("config validate {}", good));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("ok", 0), 0u) << r.out;
  const std::string bad = write("bad.yaml",
                                "ops:\n  layers.40.mlp.ff1_matmull: {weights_dtype: BFLOAT4_B}\n"
                                "  decode.sdpa: {dtype: BFLOAT3}\n");
  r = run_cli(fmt::format("config validate {}", bad));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "unknown op 'ops.layers.40.mlp.ff1_matmull'")) << r.out;
  EXPECT_TRUE(has(r.out, "key 'ops.decode.sdpa.dtype': unknown value 'BFLOAT3'")) << r.out;
}

TEST_F(CliConfig, SelectionErrors) {
  CliResult r = run_cli("config show --spec llama-9");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "llama-3.2-1b")) << r.out;
  r = run_cli("config show --device cpu");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "--model DIR or --spec NAME")) << r.out;
  r = run_cli("config show --spec llama-3.2-1b --device ttnn:n999");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "ttnn:n150")) << r.out;
  r = run_cli("config show --spec llama-3.2-1b --mode both");
  EXPECT_NE(r.code, 0) << r.out;
  r = run_cli("config validate /nonexistent/hw.yaml --spec llama-3.2-1b");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "/nonexistent/hw.yaml")) << r.out;
  r = run_cli("config");
  EXPECT_NE(r.code, 0) << r.out;
  const std::string f = write("dev.yaml", "device: ttnn:n151\n");
  r = run_cli(fmt::format("config validate {} --spec llama-3.2-1b", f));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "ttnn:n151") && has(r.out, "ttnn:p150")) << r.out;
}

}  // namespace
}  // namespace ttt::test
