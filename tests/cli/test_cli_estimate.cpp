// ttt estimate, end to end through the command: the table, the JSON, and the errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace ttt::test {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CliEstimate, PrintsOpsLayersTtftDecodeBottleneckAndMemory) {
  const CliResult r = run_cli("estimate --spec llama-3.2-1b --device ttnn:n150 --target latency");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* part :
       {"llama-3.2-1b on ttnn:n150 (1 chip), optimization target latency", "prefill: 1 user x 128 tokens",
        "decode: 1 user, one token each, attending a KV cache of 352 positions", "layers.*.attention.qkv_matmul",
        "layers.*.mlp.ff2_matmul", "lm_head.lm_head_matmul", "time to first token", "tokens/s/user", "time per layer",
        "bottleneck (prefill)", "bottleneck (decode)", "memory per chip", "of 12.00 GiB (fits)"})
    EXPECT_TRUE(has(r.out, part)) << "'" << part << "' missing in:\n" << r.out;
  // Every layer op runs once per layer: its calls column says 16.
  const std::size_t row = r.out.find("\nlayers.*.mlp.ff1_matmul ");
  ASSERT_NE(row, std::string::npos) << r.out;
  std::istringstream fields(r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1));
  std::string path, calls;
  fields >> path >> calls;
  EXPECT_EQ(calls, "16") << r.out;
  EXPECT_TRUE(has(r.out, "-bound")) << r.out;
}

TEST(CliEstimate, JsonAgreesWithItself) {
  const CliResult r =
      run_cli("estimate --spec llama-3.1-8b --device ttnn:p150 --batch 2 --prompt-len 64 --gen-len 0 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["device"], "ttnn:p150");
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["prompt_len"], 64);
  EXPECT_EQ(j["kv_cache_len"], 64);
  const double step = j["decode_step_s"];
  EXPECT_GT(step, 0.0);
  EXPECT_NEAR(j["decode_tok_s_user"].get<double>(), 1.0 / step, 1e-9 / step);
  EXPECT_NEAR(j["decode_tok_s"].get<double>(), 2.0 / step, 1e-9 / step);
  EXPECT_EQ(j["ttft_s"].get<double>(), j["prefill"]["step_s"].get<double>());
  // The step is the sum of its ops; the layers are 32 and sum to less than the step.
  double sum = 0, layers = 0;
  for (const auto& op : j["decode"]["ops"]) sum += op["total_s"].get<double>();
  for (const auto& t : j["decode"]["layer_s"]) layers += t.get<double>();
  EXPECT_NEAR(sum, step, 1e-9 * step);
  EXPECT_EQ(j["decode"]["layer_s"].size(), 32u);
  EXPECT_LT(layers, step);
  EXPECT_FALSE(j["decode"]["bottleneck"]["path"].get<std::string>().empty());
  EXPECT_TRUE(j["memory_per_chip"]["fits"].get<bool>());
  EXPECT_GT(j["memory_per_chip"]["weights"].get<int64_t>(), 4LL << 30);
}

// A hardware config changes the estimate: bf16 MLP weights read more bytes per token.
TEST(CliEstimate, HardwareConfigOverridesCount) {
  const std::string file =
      (std::filesystem::temp_directory_path() / ("ttt_cli_estimate_hw_" + std::to_string(getpid()) + ".yaml")).string();
  std::ofstream(file) << "device: ttnn:n150\noptimization_target: latency\nops:\n  mlp.ff1_matmul: {weights_dtype: "
                         "BFLOAT16}\n  mlp.ff3_matmul: {weights_dtype: BFLOAT16}\n";
  const CliResult base = run_cli("estimate --spec llama-3.2-1b --device ttnn:n150 --target latency --json");
  const CliResult wide = run_cli("estimate --spec llama-3.2-1b --hw-config " + file + " --json");
  std::filesystem::remove(file);
  ASSERT_EQ(base.code, 0) << base.out;
  ASSERT_EQ(wide.code, 0) << wide.out;
  const auto a = nlohmann::json::parse(base.out), b = nlohmann::json::parse(wide.out);
  EXPECT_EQ(b["device"], "ttnn:n150");
  EXPECT_GT(b["decode_step_s"].get<double>(), a["decode_step_s"].get<double>());
  EXPECT_GT(b["memory_per_chip"]["weights"].get<int64_t>(), a["memory_per_chip"]["weights"].get<int64_t>());
}

TEST(CliEstimate, ModelDirectory) {
  const char* env = std::getenv("TTT_MODELS_DIR");
  const std::filesystem::path dir =
      env && *env ? std::filesystem::path(env) : std::filesystem::path(TTT_SOURCE_DIR) / ".." / "shared" / "models";
  const CliResult r = run_cli("estimate --model " + (dir / "stories260K").string() + " --device ttnn:n300");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "on ttnn:n300 (2 chips")) << r.out;
  EXPECT_TRUE(has(r.out, "time to first token")) << r.out;
}

TEST(CliEstimate, ModelTooLargeForTheChipFailsWithBytesPerChip) {
  const CliResult r = run_cli("estimate --spec llama-3.1-70b --device ttnn:n150");
  EXPECT_NE(r.code, 0) << r.out;
  for (const char* part : {"memory: needs", "bytes) of DRAM per chip", "ttnn:n150 has 12.00 GiB", "larger mesh"})
    EXPECT_TRUE(has(r.out, part)) << "'" << part << "' missing in:\n" << r.out;
}

TEST(CliEstimate, NeedsAModelAndADevice) {
  CliResult r = run_cli("estimate --device ttnn:n150");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.out, "--model DIR or --spec NAME")) << r.out;
  r = run_cli("estimate --spec llama-3.2-1b");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.out, "--device")) << r.out;
  EXPECT_TRUE(has(r.out, "ttnn:galaxy")) << r.out;
}

}  // namespace
}  // namespace ttt::test
