// Random reference weights of a TransformerSpec, named as a Hugging Face checkpoint names them.
#pragma once

#include <memory>

#include <fmt/format.h>

#include "ttt/modules/specs.hpp"
#include "ttt/weight_source.hpp"

namespace ttt::test {

inline std::shared_ptr<MapWeightSource> random_llama_weights(const TransformerSpec& s, uint64_t seed = 7) {
  auto w = std::make_shared<MapWeightSource>();
  const auto& a = s.layer.attention;
  const int64_t h = a.hidden_dim;
  auto add = [&](const std::string& name, Shape shape, float scale) {
    w->add(name, shape, random_weight(shape, seed, name, scale));
  };
  auto add_norm = [&](const std::string& name, int64_t dim) {
    auto v = random_weight(Shape{dim}, seed, name, 0.1f);
    for (auto& x : v) x += 1.0f;
    w->add(name, Shape{dim}, v);
  };
  const float proj = 1.0f / std::sqrt(static_cast<float>(h));
  add("model.embed_tokens.weight", Shape{s.embedding.vocab_size, h}, 1.0f);
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    add_norm(p + "input_layernorm.weight", h);
    add_norm(p + "post_attention_layernorm.weight", h);
    add(p + "self_attn.q_proj.weight", Shape{a.q_size(), h}, proj);
    add(p + "self_attn.k_proj.weight", Shape{a.kv_size(), h}, proj);
    add(p + "self_attn.v_proj.weight", Shape{a.kv_size(), h}, proj);
    add(p + "self_attn.o_proj.weight", Shape{h, a.q_size()}, proj);
    if (a.qkv_bias) {
      add(p + "self_attn.q_proj.bias", Shape{a.q_size()}, 0.1f);
      add(p + "self_attn.k_proj.bias", Shape{a.kv_size()}, 0.1f);
      add(p + "self_attn.v_proj.bias", Shape{a.kv_size()}, 0.1f);
    }
    add(p + "mlp.gate_proj.weight", Shape{s.layer.mlp.intermediate_dim, h}, proj);
    add(p + "mlp.up_proj.weight", Shape{s.layer.mlp.intermediate_dim, h}, proj);
    add(p + "mlp.down_proj.weight", Shape{h, s.layer.mlp.intermediate_dim},
        1.0f / std::sqrt(static_cast<float>(s.layer.mlp.intermediate_dim)));
  }
  add_norm("model.norm.weight", h);
  if (!s.lm_head.tied_to_embedding) add("lm_head.weight", Shape{s.lm_head.vocab_size, h}, proj);
  return w;
}

}  // namespace ttt::test
