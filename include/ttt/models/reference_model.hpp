// The golden path: a Llama-family transformer computed in double precision, token by
// token, straight from the TransformerSpec and the safetensors weights. Fast modules
// are checked against it; it is written for clarity, not speed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ttt/models/safetensors.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

class ReferenceModel {
 public:
  // Reads every weight the spec needs (Hugging Face names: model.embed_tokens.weight,
  // model.layers.N.self_attn.q_proj.weight, ...) as double; ModelFormat naming the
  // tensor when one is missing or has the wrong shape. Biases: q/k/v when
  // spec.layer.attention.qkv_bias, MLP when spec.layer.mlp.bias, o_proj when present.
  ReferenceModel(TransformerSpec spec, const WeightSource& weights);

  // Feeds `tokens` at the next positions, growing the KV cache; returns the logits
  // after the last token ([vocab]).
  std::vector<double> forward(std::span<const int32_t> tokens);
  // The same, returning the logits of every fed position ([tokens.size() x vocab]).
  std::vector<double> forward_all(std::span<const int32_t> tokens);
  // Greedy continuation of `prompt` from an empty cache (the cache is reset first).
  std::vector<int32_t> generate_greedy(std::span<const int32_t> prompt, int64_t max_new_tokens,
                                       bool stop_at_eos = false);

  void reset();                            // empties the KV cache
  int64_t position() const { return pos_; }  // tokens in the cache
  const TransformerSpec& spec() const { return spec_; }

  // When on, forward() keeps every layer's output for the tokens it was fed:
  // layer_output(l) is [tokens x hidden] after layer l; layer_output(num_layers) is
  // the final norm's output.
  void set_record_layers(bool on) { record_ = on; }
  const std::vector<double>& layer_output(int64_t layer) const;

 private:
  struct Layer {
    std::vector<double> attn_norm, wq, wk, wv, wo, bq, bk, bv, bo;
    std::vector<double> mlp_norm, w_gate, w_up, w_down, b_gate, b_up, b_down;
    std::vector<double> k_cache, v_cache;  // [positions x kv_heads x head_dim], grown as needed
  };
  void step(int32_t token, double* logits);
  void rotate(double* x, int64_t heads, int64_t position) const;

  TransformerSpec spec_;
  std::vector<double> embedding_, final_norm_, lm_head_;  // lm_head_ empty when tied
  std::vector<Layer> layers_;
  std::vector<double> inv_freq_;
  int64_t pos_ = 0;
  bool record_ = false;
  std::vector<std::vector<double>> recorded_;
  // Per-token scratch.
  std::vector<double> x_, h_, q_, k_, v_, attn_, scores_, gate_, up_;
};

// Rotary inverse frequencies (head_dim / 2 of them) after rope_scaling, in the Hugging
// Face rotate-half convention.
std::vector<double> rope_inverse_frequencies(const AttentionSpec& attention);

}  // namespace ttt
