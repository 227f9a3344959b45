// `ttt generate` through the binary: the README continuation and the stats line,
// batches of prompts, and malformed inputs, each of which must exit non-zero with a
// message naming the file and the field. Broken model directories are copies of the
// bundled ones in temporary directories; the bundled models are never touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.hpp"
#include "models/model_test_util.hpp"

namespace ttt::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStoriesText =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string quoted(const fs::path& p) {
  std::string s = "'";
  s.append(p.string());
  s.push_back('\'');
  return s;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A writable copy of a bundled model directory (the originals are read-only).
fs::path copy_model(std::string_view name, const TempDir& tmp) {
  const fs::path dst = tmp / "model";
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(model_path(name))) {
    if (!e.is_regular_file()) continue;
    const fs::path to = dst / e.path().filename();
    fs::copy_file(e.path(), to);
    fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
  }
  return dst;
}

// Replaces the one occurrence of `from` in the file with `to`.
void edit_file(const fs::path& file, std::string_view from, std::string_view to) {
  std::string s = read_file(file);
  const auto pos = s.find(from);
  ASSERT_NE(pos, std::string::npos) << from << " not in " << file;
  ASSERT_EQ(s.find(from, pos + 1), std::string::npos) << from << " is in " << file << " more than once";
  s.replace(pos, from.size(), to);
  write_file(file, s);
}

std::string generate_args(const fs::path& model, std::string_view extra = "") {
  return "generate --model " + quoted(model) + " --prompt 'Once upon a time' --no-cache --max-tokens 8 " +
         std::string(extra);
}

// Runs the command, expects a non-zero exit and a message holding every `needle`.
void expect_failure(const std::string& args, std::initializer_list<std::string_view> needles) {
  const CliResult r = run_cli(args);
  EXPECT_NE(r.code, 0) << args << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, "error")) << r.out;
  for (std::string_view n : needles) EXPECT_TRUE(contains(r.out, n)) << "'" << n << "' missing in:\n" << r.out;
}

TEST(CliGenerate, Stories260kPrintsReadmeContinuationAndStats) {
  TempDir cache;
  const std::string args = "generate --model " + quoted(model_path("stories260K")) +
                           " --prompt 'Once upon a time' --max-tokens 64 --cache-dir " + quoted(cache.path());
  const CliResult cold = run_cli(args);
  ASSERT_EQ(cold.code, 0) << cold.out;
  EXPECT_TRUE(contains(cold.out, "Once upon a time" + std::string(kStoriesText))) << cold.out;
  for (std::string_view s : {"device cpu", "users 1", "prefill 5 tokens", "decode 63 tokens", "tok/s", "load ",
                             "(cold cache)", "peak memory"})
    EXPECT_TRUE(contains(cold.out, s)) << "'" << s << "' missing in:\n" << cold.out;

  const CliResult warm = run_cli(args);
  ASSERT_EQ(warm.code, 0) << warm.out;
  EXPECT_TRUE(contains(warm.out, "(warm cache)")) << warm.out;
  EXPECT_EQ(warm.out.substr(0, warm.out.find("---")), cold.out.substr(0, cold.out.find("---")))
      << "the warm cache changed the text";
}

TEST(CliGenerate, TtnnN150GeneratesTheSameOpening) {
  // 5 prompt tokens + 10: a KV cache length that is not a whole number of tiles.
  const CliResult r = run_cli("generate --model " + quoted(model_path("stories260K")) +
                              " --prompt 'Once upon a time' --no-cache --max-tokens 10 --device ttnn:n150");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Once upon a time, there was a little girl named Lily")) << r.out;
  EXPECT_TRUE(contains(r.out, "device ttnn:n150")) << r.out;
}

TEST(CliGenerate, RepeatedPromptAndPromptsFileBatchTheUsers) {
  TempDir tmp;
  const fs::path model = model_path("stories260K");
  const std::string common = "generate --model " + quoted(model) + " --no-cache --max-tokens 12 ";
  const CliResult repeated = run_cli(common + "--prompt 'Once upon a time' --prompt 'The cat' --prompt 'Tom and Sue'");
  ASSERT_EQ(repeated.code, 0) << repeated.out;
  EXPECT_TRUE(contains(repeated.out, "[0] Once upon a time, there was a little girl named Lily")) << repeated.out;
  EXPECT_TRUE(contains(repeated.out, "[1] The cat")) << repeated.out;
  EXPECT_TRUE(contains(repeated.out, "[2] Tom and Sue")) << repeated.out;
  EXPECT_TRUE(contains(repeated.out, "users 3")) << repeated.out;

  // The same prompts from a file with CRLF line ends and blank lines.
  write_file(tmp / "prompts.txt", "Once upon a time\r\n\r\nThe cat\r\n   \nTom and Sue");
  const CliResult file = run_cli(common + "--prompts-file " + quoted(tmp / "prompts.txt"));
  ASSERT_EQ(file.code, 0) << file.out;
  EXPECT_EQ(file.out.substr(0, file.out.find("---")), repeated.out.substr(0, repeated.out.find("---")));

  // --prompt and --prompts-file together: the --prompt users first.
  write_file(tmp / "two.txt", "The cat\nTom and Sue\n");
  const CliResult both = run_cli(common + "--prompt 'Once upon a time' --prompts-file " + quoted(tmp / "two.txt"));
  ASSERT_EQ(both.code, 0) << both.out;
  EXPECT_EQ(both.out.substr(0, both.out.find("---")), repeated.out.substr(0, repeated.out.find("---")));

  // Each user's greedy text is the text it gets alone.
  const CliResult alone = run_cli(common + "--prompt 'The cat'");
  ASSERT_EQ(alone.code, 0) << alone.out;
  const std::string line = alone.out.substr(0, alone.out.find('\n'));
  EXPECT_TRUE(contains(repeated.out, "[1] " + line + "\n")) << line << "\n" << repeated.out;
}

TEST(CliGenerate, PromptsFileErrors) {
  TempDir tmp;
  const std::string common = "generate --model " + quoted(model_path("stories260K")) + " --no-cache ";
  expect_failure(common + "--prompts-file " + quoted(tmp / "absent.txt"), {"absent.txt", "--prompts-file"});
  write_file(tmp / "blank.txt", "\n  \r\n\n");
  expect_failure(common + "--prompts-file " + quoted(tmp / "blank.txt"), {"blank.txt", "no prompt"});
  expect_failure(common, {"no prompt", "--prompt"});
}

TEST(CliGenerate, ModelDirWithoutConfigJson) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  fs::remove(m / "config.json");
  expect_failure(generate_args(m), {(m / "config.json").string(), "not found"});
}

TEST(CliGenerate, ConfigJsonMissingAKey) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  edit_file(m / "config.json", "\"num_hidden_layers\": 5,", "");
  expect_failure(generate_args(m), {(m / "config.json").string(), "num_hidden_layers"});
}

TEST(CliGenerate, UnknownArchitecture) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  edit_file(m / "config.json", "LlamaForCausalLM", "GPTNeoXForCausalLM");
  expect_failure(generate_args(m), {(m / "config.json").string(), "architectures", "GPTNeoXForCausalLM",
                                    "LlamaForCausalLM"});
}

TEST(CliGenerate, TruncatedSafetensors) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  fs::resize_file(m / "model.safetensors", fs::file_size(m / "model.safetensors") / 2);
  expect_failure(generate_args(m), {(m / "model.safetensors").string(), "data_offsets"});
  fs::resize_file(m / "model.safetensors", 6);  // not even the header length
  expect_failure(generate_args(m), {(m / "model.safetensors").string()});
}

TEST(CliGenerate, SafetensorsShapeDisagreesWithItsBytes) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  edit_file(m / "model.safetensors", R"("model.layers.0.self_attn.k_proj.weight":{"dtype":"F32","shape":[32,64])",
            R"("model.layers.0.self_attn.k_proj.weight":{"dtype":"F32","shape":[33,64])");
  expect_failure(generate_args(m), {(m / "model.safetensors").string(), "model.layers.0.self_attn.k_proj.weight",
                                    "shape", "[33, 64]"});
}

TEST(CliGenerate, SafetensorsShapeDisagreesWithConfig) {
  // The header is self-consistent (same bytes) but not what config.json describes.
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  edit_file(m / "model.safetensors", R"("model.layers.1.mlp.down_proj.weight":{"dtype":"F32","shape":[64,172])",
            R"("model.layers.1.mlp.down_proj.weight":{"dtype":"F32","shape":[172,64])");
  expect_failure(generate_args(m), {(m / "model.safetensors").string(), "model.layers.1.mlp.down_proj.weight",
                                    "[172, 64]", "[64, 172]", "config.json", "intermediate_size"});
}

TEST(CliGenerate, SafetensorsInShardsMissingATensor) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K-bf16-sharded", tmp);
  edit_file(m / "model.safetensors.index.json",
            R"("model.layers.0.input_layernorm.weight": "model-00001-of-00002.safetensors",)", "");
  const CliResult r = run_cli(generate_args(m));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "model.layers.0.input_layernorm.weight")) << r.out;
  EXPECT_TRUE(contains(r.out, "model.safetensors.index.json")) << r.out;
}

TEST(CliGenerate, TokenizerLargerThanTheVocabulary) {
  TempDir tmp;
  const fs::path m = copy_model("stories260K", tmp);
  edit_file(m / "config.json", "\"vocab_size\": 512", "\"vocab_size\": 256");
  expect_failure(generate_args(m), {"tokenizer.json", (m / "config.json").string(), "vocab_size", "256"});
}

TEST(CliGenerate, MaxTokensPastMaxPositionEmbeddings) {
  const fs::path m = model_path("aidreams260K");
  const CliResult r =
      run_cli("generate --model " + quoted(m) + " --prompt 'Once upon a time' --no-cache --max-tokens 500");
  EXPECT_NE(r.code, 0) << r.out;
  for (std::string_view s : {"config.json", "max_position_embeddings", "128", "513"})
    EXPECT_TRUE(contains(r.out, s)) << "'" << s << "' missing in:\n" << r.out;
}

TEST(CliGenerate, UnknownDeviceListsTheKnownOnes) {
  expect_failure(generate_args(model_path("stories260K"), "--device ttnn:n999"),
                 {"ttnn:n999", "cpu", "ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k", "ttnn:galaxy"});
}

TEST(CliGenerate, BadHwConfigYaml) {
  TempDir tmp;
  const fs::path model = model_path("stories260K");
  write_file(tmp / "syntax.yaml", "ops:\n  qkv_matmul: {precision: [unclosed\n");
  expect_failure(generate_args(model, "--hw-config " + quoted(tmp / "syntax.yaml")), {"syntax.yaml", "YAML"});
  write_file(tmp / "field.yaml", "ops:\n  qkv_matmul: {bogus_field: 3}\n");
  expect_failure(generate_args(model, "--hw-config " + quoted(tmp / "field.yaml")), {"field.yaml", "bogus_field"});
  write_file(tmp / "value.yaml", "optimization_target: fastest\n");
  expect_failure(generate_args(model, "--hw-config " + quoted(tmp / "value.yaml")),
                 {"value.yaml", "optimization_target", "fastest"});
  expect_failure(generate_args(model, "--hw-config " + quoted(tmp / "absent.yaml")), {"absent.yaml"});
  // A sound file is taken.
  write_file(tmp / "good.yaml", "optimization_target: latency\n");
  const CliResult ok = run_cli(generate_args(model, "--hw-config " + quoted(tmp / "good.yaml")));
  EXPECT_EQ(ok.code, 0) << ok.out;
}

}  // namespace
}  // namespace ttt::test
