#include "ttt/modules/specs.hpp"

#include "ttt/error.hpp"

namespace ttt {
namespace {

void require_positive(int64_t v, std::string_view spec, std::string_view field) {
  TTT_CHECK(v > 0, InvalidConfig, "{}.{} must be positive, got {}", spec, field, v);
}

}  // namespace

void AttentionSpec::validate() const {
  require_positive(hidden_dim, "AttentionSpec", "hidden_dim");
  require_positive(num_heads, "AttentionSpec", "num_heads");
  TTT_CHECK(num_kv_heads >= 0, InvalidConfig, "AttentionSpec.num_kv_heads must be >= 0 (0 means num_heads), got {}",
            num_kv_heads);
  TTT_CHECK(num_heads % kv_heads() == 0, InvalidConfig,
            "AttentionSpec.num_heads {} is not divisible by num_kv_heads {}: each kv head must serve a whole group "
            "of query heads",
            num_heads, kv_heads());
  TTT_CHECK(head_dim > 0 || hidden_dim % num_heads == 0, InvalidConfig,
            "AttentionSpec.hidden_dim {} is not divisible by num_heads {}; set head_dim explicitly", hidden_dim,
            num_heads);
  TTT_CHECK(head_size() % 2 == 0, InvalidConfig, "AttentionSpec.head_dim must be even for rotary embedding, got {}",
            head_size());
  require_positive(max_seq_len, "AttentionSpec", "max_seq_len");
  TTT_CHECK(rope_theta > 0, InvalidConfig, "AttentionSpec.rope_theta must be positive, got {}", rope_theta);
  if (rope_scaling.type != RopeScalingType::none) {
    TTT_CHECK(rope_scaling.factor > 0, InvalidConfig, "AttentionSpec.rope_scaling.factor must be positive, got {}",
              rope_scaling.factor);
  }
  if (rope_scaling.type == RopeScalingType::llama3) {
    TTT_CHECK(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor, InvalidConfig,
              "AttentionSpec.rope_scaling: high_freq_factor {} must exceed low_freq_factor {}",
              rope_scaling.high_freq_factor, rope_scaling.low_freq_factor);
    require_positive(rope_scaling.original_max_position_embeddings, "AttentionSpec.rope_scaling",
                     "original_max_position_embeddings");
  }
}

void MLPSpec::validate() const {
  require_positive(hidden_dim, "MLPSpec", "hidden_dim");
  require_positive(intermediate_dim, "MLPSpec", "intermediate_dim");
}

void RMSNormSpec::validate() const {
  require_positive(dim, "RMSNormSpec", "dim");
  TTT_CHECK(eps > 0 && eps < 1, InvalidConfig, "RMSNormSpec.eps must be in (0, 1), got {}", eps);
}

void EmbeddingSpec::validate() const {
  require_positive(vocab_size, "EmbeddingSpec", "vocab_size");
  require_positive(dim, "EmbeddingSpec", "dim");
}

void LMHeadSpec::validate() const {
  require_positive(dim, "LMHeadSpec", "dim");
  require_positive(vocab_size, "LMHeadSpec", "vocab_size");
}

void DecoderLayerSpec::validate() const {
  attention.validate();
  mlp.validate();
  attention_norm.validate();
  mlp_norm.validate();
  TTT_CHECK(mlp.hidden_dim == attention.hidden_dim, InvalidConfig,
            "DecoderLayerSpec: mlp.hidden_dim {} differs from attention.hidden_dim {}", mlp.hidden_dim,
            attention.hidden_dim);
  TTT_CHECK(attention_norm.dim == attention.hidden_dim && mlp_norm.dim == attention.hidden_dim, InvalidConfig,
            "DecoderLayerSpec: norm dims {} / {} differ from hidden_dim {}", attention_norm.dim, mlp_norm.dim,
            attention.hidden_dim);
}

void TransformerSpec::validate() const {
  require_positive(num_layers, "TransformerSpec", "num_layers");
  embedding.validate();
  layer.validate();
  final_norm.validate();
  lm_head.validate();
  TTT_CHECK(embedding.dim == layer.attention.hidden_dim, InvalidConfig,
            "TransformerSpec: embedding.dim {} differs from hidden_dim {}", embedding.dim, layer.attention.hidden_dim);
  TTT_CHECK(lm_head.vocab_size == embedding.vocab_size && lm_head.dim == embedding.dim, InvalidConfig,
            "TransformerSpec: lm_head [{} x {}] does not match the embedding [{} x {}]", lm_head.vocab_size,
            lm_head.dim, embedding.vocab_size, embedding.dim);
}

int64_t TransformerSpec::parameter_count() const {
  const AttentionSpec& a = layer.attention;
  const int64_t h = a.hidden_dim;
  const int64_t attn = h * a.qkv_size() + a.q_size() * h + (a.qkv_bias ? a.qkv_size() : 0);
  const int64_t mlp = (layer.mlp.gated ? 3 : 2) * h * layer.mlp.intermediate_dim;
  const int64_t per_layer = attn + mlp + 2 * h;
  const int64_t emb = embedding.vocab_size * h;
  return num_layers * per_layer + emb + h + (lm_head.tied_to_embedding ? 0 : emb);
}

namespace {

TransformerSpec llama(std::string name, int64_t layers, int64_t hidden, int64_t heads, int64_t kv_heads,
                      int64_t intermediate, int64_t vocab, bool tied, double rope_factor, int64_t max_pos) {
  TransformerSpec s;
  s.name = std::move(name);
  s.architecture = "LlamaForCausalLM";
  s.num_layers = layers;
  s.embedding = {vocab, hidden};
  s.layer.attention = AttentionSpec(hidden, heads);
  s.layer.attention.num_kv_heads = kv_heads;
  s.layer.attention.head_dim = hidden / heads;
  s.layer.attention.max_seq_len = max_pos;
  s.layer.attention.rope_theta = 500000.0;
  s.layer.attention.rope_scaling = {RopeScalingType::llama3, rope_factor, 1.0, 4.0, 8192};
  s.layer.mlp = {hidden, intermediate, MlpActivation::silu, true, false};
  s.layer.attention_norm = {hidden, 1e-5};
  s.layer.mlp_norm = {hidden, 1e-5};
  s.final_norm = {hidden, 1e-5};
  s.lm_head = {hidden, vocab, tied};
  s.bos_token_id = 128000;
  s.eos_token_id = 128001;
  return s;
}

}  // namespace

std::vector<std::string> builtin_spec_names() {
  return {"llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "llama-3.1-70b", "tinystories-260k"};
}

TransformerSpec builtin_spec(std::string_view name) {
  // Shapes from the models' published config.json files.
  if (name == "llama-3.2-1b") return llama("llama-3.2-1b", 16, 2048, 32, 8, 8192, 128256, true, 32.0, 131072);
  if (name == "llama-3.2-3b") return llama("llama-3.2-3b", 28, 3072, 24, 8, 8192, 128256, true, 32.0, 131072);
  if (name == "llama-3.1-8b") return llama("llama-3.1-8b", 32, 4096, 32, 8, 14336, 128256, false, 8.0, 131072);
  if (name == "llama-3.1-70b") return llama("llama-3.1-70b", 80, 8192, 64, 8, 28672, 128256, false, 8.0, 131072);
  if (name == "tinystories-260k") {
    TransformerSpec s = llama("tinystories-260k", 5, 64, 8, 4, 172, 512, true, 1.0, 512);
    s.layer.attention.rope_theta = 10000.0;
    s.layer.attention.rope_scaling = {};
    s.bos_token_id = 1;
    s.eos_token_id = 2;
    return s;
  }
  std::string known;
  for (const auto& n : builtin_spec_names()) known += (known.empty() ? "" : ", ") + n;
  fail(ErrorKind::InvalidConfig, "unknown spec '{}': known specs are {}", name, known);
}

}  // namespace ttt
