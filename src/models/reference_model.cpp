#include "ttt/models/reference_model.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ttt/error.hpp"

namespace ttt {
namespace {

std::vector<double> load(const WeightSource& w, const std::string& name, std::initializer_list<int64_t> dims) {
  const Shape want(dims);
  if (!w.has(name)) {
    fail(ErrorKind::ModelFormat, "{}: missing tensor '{}' (expected shape {})", w.describe(), name, want.str());
  }
  const Shape shape = w.shape(name);
  if (!(shape == want)) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}' has shape {}; the model's config needs {}", w.describe(name), name,
         shape.str(), want.str());
  }
  const std::vector<float> f = w.load(name);
  return {f.begin(), f.end()};
}

// y[o] = sum_i W[o, i] x[i] (+ b[o]); W is [out x in], row-major as Hugging Face stores it.
void matvec(const std::vector<double>& w, const std::vector<double>& b, const double* x, int64_t in, int64_t out,
            double* y) {
  for (int64_t o = 0; o < out; ++o) {
    const double* row = w.data() + o * in;
    double acc = 0;
    for (int64_t i = 0; i < in; ++i) acc += row[i] * x[i];
    y[o] = acc + (b.empty() ? 0.0 : b[static_cast<std::size_t>(o)]);
  }
}

void rms_norm(const double* x, const std::vector<double>& w, double eps, int64_t n, double* y) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[static_cast<std::size_t>(i)];
}

double activate(MlpActivation a, double x) {
  switch (a) {
    case MlpActivation::silu: return x / (1.0 + std::exp(-x));
    case MlpActivation::gelu: return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
    case MlpActivation::relu: return x > 0 ? x : 0.0;
  }
  return x;
}

}  // namespace

std::vector<double> rope_inverse_frequencies(const AttentionSpec& a) {
  const int64_t d = a.head_size();
  std::vector<double> inv(static_cast<std::size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) {
    inv[static_cast<std::size_t>(i)] = 1.0 / std::pow(a.rope_theta, static_cast<double>(2 * i) / static_cast<double>(d));
  }
  const RopeScaling& rs = a.rope_scaling;
  if (rs.type == RopeScalingType::linear) {
    for (double& f : inv) f /= rs.factor;
  } else if (rs.type == RopeScalingType::llama3) {
    // transformers' _compute_llama3_parameters: long wavelengths are slowed by `factor`,
    // short ones kept, the band between blended smoothly.
    const double old_ctx = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wavelen = old_ctx / rs.low_freq_factor;
    const double high_wavelen = old_ctx / rs.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1 - smooth) * f / rs.factor + smooth * f;
      }
    }
  }
  return inv;
}

ReferenceModel::ReferenceModel(TransformerSpec spec, const WeightSource& w) : spec_(std::move(spec)) {
  spec_.validate();
  const AttentionSpec& a = spec_.layer.attention;
  const MLPSpec& m = spec_.layer.mlp;
  const int64_t hid = a.hidden_dim, qs = a.q_size(), kvs = a.kv_size(), inter = m.intermediate_dim;
  const int64_t vocab = spec_.embedding.vocab_size;

  embedding_ = load(w, "model.embed_tokens.weight", {vocab, hid});
  final_norm_ = load(w, "model.norm.weight", {hid});
  if (!spec_.lm_head.tied_to_embedding) lm_head_ = load(w, "lm_head.weight", {vocab, hid});
  layers_.resize(static_cast<std::size_t>(spec_.num_layers));
  for (int64_t l = 0; l < spec_.num_layers; ++l) {
    Layer& L = layers_[static_cast<std::size_t>(l)];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    L.attn_norm = load(w, p + "input_layernorm.weight", {hid});
    L.mlp_norm = load(w, p + "post_attention_layernorm.weight", {hid});
    L.wq = load(w, p + "self_attn.q_proj.weight", {qs, hid});
    L.wk = load(w, p + "self_attn.k_proj.weight", {kvs, hid});
    L.wv = load(w, p + "self_attn.v_proj.weight", {kvs, hid});
    L.wo = load(w, p + "self_attn.o_proj.weight", {hid, qs});
    if (a.qkv_bias) {
      L.bq = load(w, p + "self_attn.q_proj.bias", {qs});
      L.bk = load(w, p + "self_attn.k_proj.bias", {kvs});
      L.bv = load(w, p + "self_attn.v_proj.bias", {kvs});
    }
    if (w.has(p + "self_attn.o_proj.bias")) L.bo = load(w, p + "self_attn.o_proj.bias", {hid});
    L.w_gate = load(w, p + "mlp.gate_proj.weight", {inter, hid});
    L.w_up = load(w, p + "mlp.up_proj.weight", {inter, hid});
    L.w_down = load(w, p + "mlp.down_proj.weight", {hid, inter});
    if (m.bias) {
      L.b_gate = load(w, p + "mlp.gate_proj.bias", {inter});
      L.b_up = load(w, p + "mlp.up_proj.bias", {inter});
      L.b_down = load(w, p + "mlp.down_proj.bias", {hid});
    }
  }
  TTT_CHECK(m.gated, Unsupported, "ReferenceModel: MLPSpec.gated false is not a Llama-family MLP");
  inv_freq_ = rope_inverse_frequencies(a);
  x_.resize(static_cast<std::size_t>(hid));
  h_.resize(static_cast<std::size_t>(std::max(hid, qs)));
  q_.resize(static_cast<std::size_t>(qs));
  k_.resize(static_cast<std::size_t>(kvs));
  v_.resize(static_cast<std::size_t>(kvs));
  attn_.resize(static_cast<std::size_t>(qs));
  gate_.resize(static_cast<std::size_t>(inter));
  up_.resize(static_cast<std::size_t>(inter));
}

void ReferenceModel::reset() {
  pos_ = 0;
  for (Layer& L : layers_) {
    L.k_cache.clear();
    L.v_cache.clear();
  }
}

const std::vector<double>& ReferenceModel::layer_output(int64_t layer) const {
  TTT_CHECK(layer >= 0 && static_cast<std::size_t>(layer) < recorded_.size(), InvalidConfig,
            "ReferenceModel::layer_output({}): {} outputs were recorded (set_record_layers(true) before forward)",
            layer, recorded_.size());
  return recorded_[static_cast<std::size_t>(layer)];
}

// Rotate-half: pair (x[i], x[i + d/2]) turns by position * inv_freq[i].
void ReferenceModel::rotate(double* x, int64_t heads, int64_t position) const {
  const int64_t d = spec_.layer.attention.head_size(), half = d / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(position) * inv_freq_[static_cast<std::size_t>(i)];
    const double c = std::cos(angle), s = std::sin(angle);
    for (int64_t h = 0; h < heads; ++h) {
      double* v = x + h * d;
      const double x0 = v[i], x1 = v[i + half];
      v[i] = x0 * c - x1 * s;
      v[i + half] = x1 * c + x0 * s;
    }
  }
}

void ReferenceModel::step(int32_t token, double* logits) {
  const AttentionSpec& a = spec_.layer.attention;
  const int64_t hid = a.hidden_dim, heads = a.num_heads, kvh = a.kv_heads(), d = a.head_size();
  const int64_t qs = a.q_size(), kvs = a.kv_size(), inter = spec_.layer.mlp.intermediate_dim;
  const int64_t vocab = spec_.embedding.vocab_size;
  TTT_CHECK(token >= 0 && token < vocab, InvalidConfig, "ReferenceModel: token id {} is outside the vocabulary ({})",
            token, vocab);
  TTT_CHECK(pos_ < a.max_seq_len, InvalidConfig,
            "ReferenceModel: position {} reaches the model's max_seq_len {} (max_position_embeddings)", pos_,
            a.max_seq_len);

  std::copy_n(embedding_.data() + token * hid, hid, x_.data());
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const int64_t n_ctx = pos_ + 1;
  scores_.resize(static_cast<std::size_t>(n_ctx));
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    Layer& L = layers_[l];
    rms_norm(x_.data(), L.attn_norm, spec_.layer.attention_norm.eps, hid, h_.data());
    matvec(L.wq, L.bq, h_.data(), hid, qs, q_.data());
    matvec(L.wk, L.bk, h_.data(), hid, kvs, k_.data());
    matvec(L.wv, L.bv, h_.data(), hid, kvs, v_.data());
    rotate(q_.data(), heads, pos_);
    rotate(k_.data(), kvh, pos_);
    L.k_cache.insert(L.k_cache.end(), k_.begin(), k_.end());
    L.v_cache.insert(L.v_cache.end(), v_.begin(), v_.end());

    // Causal attention over the cache; query head h reads kv head h / (heads / kv_heads).
    const int64_t group = heads / kvh;
    for (int64_t h = 0; h < heads; ++h) {
      const double* q = q_.data() + h * d;
      const int64_t g = h / group;
      double mx = -INFINITY;
      for (int64_t t = 0; t < n_ctx; ++t) {
        const double* k = L.k_cache.data() + (t * kvh + g) * d;
        double s = 0;
        for (int64_t i = 0; i < d; ++i) s += q[i] * k[i];
        scores_[static_cast<std::size_t>(t)] = s * scale;
        mx = std::max(mx, s * scale);
      }
      double sum = 0;
      for (double& s : scores_) sum += (s = std::exp(s - mx));
      double* out = attn_.data() + h * d;
      std::fill_n(out, d, 0.0);
      for (int64_t t = 0; t < n_ctx; ++t) {
        const double p = scores_[static_cast<std::size_t>(t)] / sum;
        const double* v = L.v_cache.data() + (t * kvh + g) * d;
        for (int64_t i = 0; i < d; ++i) out[i] += p * v[i];
      }
    }
    matvec(L.wo, L.bo, attn_.data(), qs, hid, h_.data());
    for (int64_t i = 0; i < hid; ++i) x_[static_cast<std::size_t>(i)] += h_[static_cast<std::size_t>(i)];

    rms_norm(x_.data(), L.mlp_norm, spec_.layer.mlp_norm.eps, hid, h_.data());
    matvec(L.w_gate, L.b_gate, h_.data(), hid, inter, gate_.data());
    matvec(L.w_up, L.b_up, h_.data(), hid, inter, up_.data());
    for (int64_t i = 0; i < inter; ++i) {
      gate_[static_cast<std::size_t>(i)] =
          activate(spec_.layer.mlp.activation, gate_[static_cast<std::size_t>(i)]) * up_[static_cast<std::size_t>(i)];
    }
    matvec(L.w_down, L.b_down, gate_.data(), inter, hid, h_.data());
    for (int64_t i = 0; i < hid; ++i) x_[static_cast<std::size_t>(i)] += h_[static_cast<std::size_t>(i)];
    if (record_) recorded_[l].insert(recorded_[l].end(), x_.begin(), x_.end());
  }
  rms_norm(x_.data(), final_norm_, spec_.final_norm.eps, hid, h_.data());
  if (record_) recorded_.back().insert(recorded_.back().end(), h_.begin(), h_.begin() + hid);
  matvec(lm_head_.empty() ? embedding_ : lm_head_, {}, h_.data(), hid, vocab, logits);
  ++pos_;
}

std::vector<double> ReferenceModel::forward_all(std::span<const int32_t> tokens) {
  const auto vocab = static_cast<std::size_t>(spec_.embedding.vocab_size);
  std::vector<double> logits(tokens.size() * vocab);
  recorded_.assign(record_ ? layers_.size() + 1 : 0, {});
  for (std::size_t i = 0; i < tokens.size(); ++i) step(tokens[i], logits.data() + i * vocab);
  return logits;
}

std::vector<double> ReferenceModel::forward(std::span<const int32_t> tokens) {
  TTT_CHECK(!tokens.empty(), InvalidConfig, "ReferenceModel::forward: no tokens");
  const auto vocab = static_cast<std::size_t>(spec_.embedding.vocab_size);
  std::vector<double> logits(vocab);
  recorded_.assign(record_ ? layers_.size() + 1 : 0, {});
  for (int32_t t : tokens) step(t, logits.data());
  return logits;
}

std::vector<int32_t> ReferenceModel::generate_greedy(std::span<const int32_t> prompt, int64_t max_new_tokens,
                                                     bool stop_at_eos) {
  reset();
  std::vector<int32_t> out;
  if (max_new_tokens <= 0) return out;
  std::vector<double> logits = forward(prompt);
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    // Greedy: the first of equal maxima, as argmax does everywhere in ttt.
    const auto next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(next);
    if ((stop_at_eos && next == spec_.eos_token_id) || i + 1 == max_new_tokens) break;
    const int32_t t[1] = {next};
    logits = forward(t);
  }
  return out;
}

}  // namespace ttt
