#include "ttt/models/random_weights.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/fields.hpp"

namespace ttt {

RandomWeightSource::RandomWeightSource(TransformerSpec spec, uint64_t seed) : spec_(std::move(spec)), seed_(seed) {
  spec_.validate();
  const auto& a = spec_.layer.attention;
  const int64_t h = a.hidden_dim, f = spec_.layer.mlp.intermediate_dim;
  // Uniform weights with the variance of N(0, 1/fan_in): activations keep their scale.
  auto proj = [](int64_t fan_in) { return static_cast<float>(std::sqrt(3.0 / static_cast<double>(fan_in))); };
  entries_["model.embed_tokens.weight"] = {Shape{spec_.embedding.vocab_size, h}, 1.0f, false};
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    entries_[p + "input_layernorm.weight"] = {Shape{h}, 0.1f, true};
    entries_[p + "post_attention_layernorm.weight"] = {Shape{h}, 0.1f, true};
    entries_[p + "self_attn.q_proj.weight"] = {Shape{a.q_size(), h}, proj(h), false};
    entries_[p + "self_attn.k_proj.weight"] = {Shape{a.kv_size(), h}, proj(h), false};
    entries_[p + "self_attn.v_proj.weight"] = {Shape{a.kv_size(), h}, proj(h), false};
    entries_[p + "self_attn.o_proj.weight"] = {Shape{h, a.q_size()}, proj(a.q_size()), false};
    if (a.qkv_bias) {
      entries_[p + "self_attn.q_proj.bias"] = {Shape{a.q_size()}, 0.1f, false};
      entries_[p + "self_attn.k_proj.bias"] = {Shape{a.kv_size()}, 0.1f, false};
      entries_[p + "self_attn.v_proj.bias"] = {Shape{a.kv_size()}, 0.1f, false};
    }
    entries_[p + "mlp.gate_proj.weight"] = {Shape{f, h}, proj(h), false};
    entries_[p + "mlp.up_proj.weight"] = {Shape{f, h}, proj(h), false};
    entries_[p + "mlp.down_proj.weight"] = {Shape{h, f}, proj(f), false};
  }
  entries_["model.norm.weight"] = {Shape{h}, 0.1f, true};
  if (!spec_.lm_head.tied_to_embedding) entries_["lm_head.weight"] = {Shape{spec_.lm_head.vocab_size, h}, proj(h), false};
}

const RandomWeightSource::Entry& RandomWeightSource::find(std::string_view name) const {
  auto it = entries_.find(name);
  TTT_CHECK(it != entries_.end(), ModelFormat, "random weights of '{}' have no tensor '{}'", spec_.name, name);
  return it->second;
}

bool RandomWeightSource::has(std::string_view name) const { return entries_.find(name) != entries_.end(); }
Shape RandomWeightSource::shape(std::string_view name) const { return find(name).shape; }

std::vector<float> RandomWeightSource::load(std::string_view name) const {
  const Entry& e = find(name);
  std::vector<float> v(static_cast<std::size_t>(e.shape.volume()));
  // xorshift64*: fast enough to fill billions of weights.
  uint64_t x = seed_ ^ hash_bytes(name.data(), name.size()) ^ 0x9E3779B97F4A7C15ull;
  if (x == 0) x = 1;
  const float scale = e.scale * 2.0f / 16777216.0f;
  for (auto& out : v) {
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    const uint64_t r = x * 0x2545F4914F6CDD1Dull;
    const float u = static_cast<float>(r >> 40) * scale - e.scale;  // uniform in [-scale, scale)
    out = e.norm ? 1.0f + u : u;
  }
  return v;
}

std::string RandomWeightSource::fingerprint(std::string_view name) const {
  const Entry& e = find(name);
  return fmt::format("random:v1:seed={}:{}:{}", seed_, name, e.shape.str());
}

std::vector<std::string> RandomWeightSource::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) out.push_back(k);
  return out;
}

std::string RandomWeightSource::describe() const { return fmt::format("random weights of {}", spec_.name); }

}  // namespace ttt
