// Hugging Face config.json -> TransformerSpec, for the Llama, Mistral and Qwen2
// families. Every error is a ModelFormat (or Unsupported) ttt::Error that names the
// file and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/modules/specs.hpp"

namespace ttt {

// What config.json says beyond the TransformerSpec (fields the spec has no room for).
struct ModelConfig {
  TransformerSpec spec;
  std::filesystem::path file;           // the config.json that was read
  std::string model_type;               // "llama", "mistral", "qwen2"
  std::vector<int64_t> eos_token_ids;   // all of them; spec.eos_token_id is the first
  bool o_proj_bias = false;             // Llama's attention_bias also biases o_proj
  std::string torch_dtype;              // informational: "float32", "bfloat16", ...
  int64_t sliding_window = 0;           // 0: none; otherwise max_seq_len was clamped to it
};

// The architectures config.json may name ("LlamaForCausalLM", ...).
std::vector<std::string> supported_architectures();

// Reads <model_dir>/config.json. spec.name is the directory's name.
ModelConfig load_model_config(const std::filesystem::path& model_dir);
TransformerSpec load_model_spec(const std::filesystem::path& model_dir);

// The same from JSON text; `file` is only used in messages and ModelConfig::file.
ModelConfig parse_model_config(std::string_view json_text, const std::filesystem::path& file,
                               std::string_view model_name);

}  // namespace ttt
