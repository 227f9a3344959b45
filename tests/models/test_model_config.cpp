#include <gtest/gtest.h>

#include "model_test_util.hpp"
#include "ttt/models/model_config.hpp"

namespace ttt {
namespace {

using test::error_of;

// Llama-3.2-1B's published config.json, trimmed to the fields we read.
constexpr std::string_view kLlama32Config = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
  "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
  "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "tie_word_embeddings": true, "vocab_size": 128256, "hidden_act": "silu",
  "attention_bias": false, "mlp_bias": false,
  "bos_token_id": 128000, "eos_token_id": 128001, "torch_dtype": "bfloat16"})";

// Qwen2.5-0.5B-Instruct's, trimmed.
constexpr std::string_view kQwenConfig = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
  "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null,
  "sliding_window": 32768, "use_sliding_window": false, "max_window_layers": 21,
  "tie_word_embeddings": true, "vocab_size": 151936, "hidden_act": "silu",
  "bos_token_id": 151643, "eos_token_id": [151645, 151643]})";

// Mistral-7B-v0.1's, trimmed.
constexpr std::string_view kMistralConfig = R"({
  "architectures": ["MistralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "tie_word_embeddings": false, "vocab_size": 32000,
  "bos_token_id": 1, "eos_token_id": 2})";

ModelConfig parse(std::string_view text) { return parse_model_config(text, "/models/x/config.json", "x"); }

// kLlama32Config with one field's text replaced.
std::string llama_with(std::string_view from, std::string_view to) {
  std::string s(kLlama32Config);
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  s.replace(pos, from.size(), to);
  return s;
}

TEST(ModelConfig, BundledStoriesMatchesBuiltinSpec) {
  const ModelConfig mc = load_model_config(test::model_path("stories260K"));
  TransformerSpec want = builtin_spec("tinystories-260k");
  want.name = "stories260K";
  EXPECT_EQ(mc.spec, want);
  EXPECT_EQ(mc.model_type, "llama");
  EXPECT_EQ(mc.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_FALSE(mc.o_proj_bias);
  EXPECT_EQ(load_model_spec(test::model_path("stories260K-bf16-sharded")).layer, want.layer);
}

TEST(ModelConfig, BundledAidreams) {
  const TransformerSpec s = load_model_spec(test::model_path("aidreams260K"));
  EXPECT_EQ(s.name, "aidreams260K");
  EXPECT_EQ(s.num_layers, 4);
  EXPECT_EQ(s.layer.attention.num_heads, 4);
  EXPECT_EQ(s.layer.attention.kv_heads(), 4);
  EXPECT_EQ(s.layer.attention.head_size(), 16);
  EXPECT_EQ(s.layer.attention.max_seq_len, 128);
  EXPECT_EQ(s.layer.mlp.intermediate_dim, 172);
  EXPECT_TRUE(s.lm_head.tied_to_embedding);
}

TEST(ModelConfig, Llama32MatchesBuiltinSpec) {
  const ModelConfig mc = parse(kLlama32Config);
  TransformerSpec want = builtin_spec("llama-3.2-1b");
  want.name = "x";
  EXPECT_EQ(mc.spec, want);
  EXPECT_EQ(mc.torch_dtype, "bfloat16");
}

TEST(ModelConfig, Qwen2HasQkvBiasAndEosList) {
  const ModelConfig mc = parse(kQwenConfig);
  const AttentionSpec& a = mc.spec.layer.attention;
  EXPECT_TRUE(a.qkv_bias);
  EXPECT_FALSE(mc.o_proj_bias);
  EXPECT_EQ(a.head_size(), 64);
  EXPECT_EQ(a.kv_heads(), 2);
  EXPECT_EQ(a.max_seq_len, 32768);  // use_sliding_window is false
  EXPECT_EQ(mc.sliding_window, 0);
  EXPECT_DOUBLE_EQ(a.rope_theta, 1e6);
  EXPECT_EQ(a.rope_scaling.type, RopeScalingType::none);
  EXPECT_EQ(mc.eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(mc.spec.eos_token_id, 151645);
  EXPECT_EQ(mc.spec.architecture, "Qwen2ForCausalLM");
}

TEST(ModelConfig, MistralSlidingWindowLimitsContext) {
  const ModelConfig mc = parse(kMistralConfig);
  EXPECT_EQ(mc.sliding_window, 4096);
  EXPECT_EQ(mc.spec.layer.attention.max_seq_len, 4096);
  EXPECT_FALSE(mc.spec.lm_head.tied_to_embedding);
  EXPECT_EQ(mc.model_type, "mistral");
}

TEST(ModelConfig, DefaultsAndVariants) {
  // No num_key_value_heads / head_dim / rope_theta: MHA, hidden / heads, 10000.
  const ModelConfig mc = parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
      "intermediate_size": 100, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50,
      "rms_norm_eps": 1e-6, "max_position_embeddings": 64, "attention_bias": true,
      "rope_scaling": {"type": "linear", "factor": 2.0}, "eos_token_id": [5, 6]})");
  const AttentionSpec& a = mc.spec.layer.attention;
  EXPECT_EQ(a.kv_heads(), 4);
  EXPECT_EQ(a.head_size(), 16);
  EXPECT_DOUBLE_EQ(a.rope_theta, 10000.0);
  EXPECT_EQ(a.rope_scaling.type, RopeScalingType::linear);
  EXPECT_DOUBLE_EQ(a.rope_scaling.factor, 2.0);
  EXPECT_TRUE(a.qkv_bias);
  EXPECT_TRUE(mc.o_proj_bias);  // Llama's attention_bias covers o_proj too
  EXPECT_FALSE(mc.spec.lm_head.tied_to_embedding);
  EXPECT_EQ(mc.spec.bos_token_id, -1);
  EXPECT_EQ(mc.spec.eos_token_id, 5);
}

TEST(ModelConfig, MissingFile) {
  test::TempDir dir;
  const auto msg = error_of([&] { load_model_config(dir.path()); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

TEST(ModelConfig, MalformedJsonGivesLineAndColumn) {
  test::TempDir dir;
  test::write_file(dir / "config.json", "{\n  \"hidden_size\": 64,\n  \"vocab_size\" 512\n}");
  const auto msg = error_of([&] { load_model_config(dir.path()); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find((dir / "config.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3, column"), std::string::npos) << msg;
}

TEST(ModelConfig, MissingKey) {
  const auto msg = error_of([&] { parse(llama_with("\"hidden_size\": 2048,", "")); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("/models/x/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing field 'hidden_size'"), std::string::npos) << msg;
  const auto nested = error_of([&] { parse(llama_with("\"low_freq_factor\": 1.0,", "")); }, ErrorKind::ModelFormat);
  EXPECT_NE(nested.find("'rope_scaling.low_freq_factor'"), std::string::npos) << nested;
}

TEST(ModelConfig, WrongType) {
  auto msg = error_of([&] { parse(llama_with("\"hidden_size\": 2048", "\"hidden_size\": \"2048\"")); },
                      ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("field 'hidden_size' must be an integer, found string \"2048\""), std::string::npos) << msg;
  msg = error_of([&] { parse(llama_with("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": 1")); },
                 ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("'tie_word_embeddings'"), std::string::npos) << msg;
  msg = error_of([&] { parse(llama_with("\"eos_token_id\": 128001", "\"eos_token_id\": \"x\"")); },
                 ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("'eos_token_id'"), std::string::npos) << msg;
  msg = error_of([&] { parse(llama_with("\"num_hidden_layers\": 16", "\"num_hidden_layers\": 0")); },
                 ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("'num_hidden_layers' must be a positive integer"), std::string::npos) << msg;
}

TEST(ModelConfig, UnknownArchitectureListsSupported) {
  const auto msg = error_of([&] { parse(llama_with("LlamaForCausalLM", "GPT2LMHeadModel")); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("GPT2LMHeadModel"), std::string::npos) << msg;
  for (const auto& a : supported_architectures()) EXPECT_NE(msg.find(a), std::string::npos) << msg;
}

TEST(ModelConfig, UnsupportedFeatures) {
  auto msg = error_of([&] { parse(llama_with("\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"")); },
                      ErrorKind::Unsupported);
  EXPECT_NE(msg.find("'rope_scaling.rope_type' is 'yarn'"), std::string::npos) << msg;
  msg = error_of([&] { parse(llama_with("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu_new\"")); },
                 ErrorKind::Unsupported);
  EXPECT_NE(msg.find("'hidden_act'"), std::string::npos) << msg;
}

TEST(ModelConfig, InconsistentShapesAreModelFormat) {
  const auto msg = error_of([&] { parse(llama_with("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5")); },
                            ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("/models/x/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_kv_heads"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ttt
