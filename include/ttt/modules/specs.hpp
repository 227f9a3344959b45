// Module specs: what each module computes, nothing about hardware. Validated at
// construction; errors name the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/enum.hpp"

namespace ttt {

TTT_ENUM(RopeScalingType, none, linear, llama3)
TTT_ENUM(MlpActivation, silu, gelu, relu)
TTT_ENUM(NormType, rms_norm, layer_norm)

struct RopeScaling {
  RopeScalingType type = RopeScalingType::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
  bool operator==(const RopeScaling&) const = default;
};

struct AttentionSpec {
  int64_t hidden_dim = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;   // 0: equal to num_heads (MHA)
  int64_t head_dim = 0;       // 0: hidden_dim / num_heads
  int64_t max_seq_len = 4096;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling{};
  bool qkv_bias = false;

  // The seed's AttentionSpec(hidden_dim, num_heads): the rest defaults.
  AttentionSpec() = default;
  AttentionSpec(int64_t hidden, int64_t heads) : hidden_dim(hidden), num_heads(heads) {}

  int64_t kv_heads() const { return num_kv_heads > 0 ? num_kv_heads : num_heads; }
  int64_t head_size() const { return head_dim > 0 ? head_dim : (num_heads > 0 ? hidden_dim / num_heads : 0); }
  int64_t q_size() const { return num_heads * head_size(); }
  int64_t kv_size() const { return kv_heads() * head_size(); }
  int64_t qkv_size() const { return q_size() + 2 * kv_size(); }
  void validate() const;  // InvalidConfig naming the field
  bool operator==(const AttentionSpec&) const = default;
};

struct MLPSpec {
  int64_t hidden_dim = 0;
  int64_t intermediate_dim = 0;
  MlpActivation activation = MlpActivation::silu;
  bool gated = true;  // SwiGLU: down(act(gate(x)) * up(x))
  bool bias = false;
  void validate() const;
  bool operator==(const MLPSpec&) const = default;
};

struct RMSNormSpec {
  int64_t dim = 0;
  double eps = 1e-5;
  void validate() const;
  bool operator==(const RMSNormSpec&) const = default;
};

struct EmbeddingSpec {
  int64_t vocab_size = 0;
  int64_t dim = 0;
  void validate() const;
  bool operator==(const EmbeddingSpec&) const = default;
};

struct LMHeadSpec {
  int64_t dim = 0;
  int64_t vocab_size = 0;
  bool tied_to_embedding = false;
  void validate() const;
  bool operator==(const LMHeadSpec&) const = default;
};

struct DecoderLayerSpec {
  AttentionSpec attention;
  MLPSpec mlp;
  RMSNormSpec attention_norm;
  RMSNormSpec mlp_norm;
  void validate() const;
  bool operator==(const DecoderLayerSpec&) const = default;
};

struct TransformerSpec {
  std::string name;          // "llama-3.2-1b", or the model directory's name
  std::string architecture;  // "LlamaForCausalLM", ...
  int64_t num_layers = 0;
  EmbeddingSpec embedding;
  DecoderLayerSpec layer;    // every layer has the same shape
  RMSNormSpec final_norm;
  LMHeadSpec lm_head;
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  void validate() const;
  bool operator==(const TransformerSpec&) const = default;

  int64_t parameter_count() const;
};

// Specs of well-known shapes (no weights): "llama-3.2-1b", "llama-3.1-8b",
// "llama-3.1-70b", "tinystories-260k". Unknown names list the known ones.
TransformerSpec builtin_spec(std::string_view name);
std::vector<std::string> builtin_spec_names();

}  // namespace ttt
