// Double-precision references of the modules' math, written as plain loops straight
// from the definitions (Hugging Face Llama: pre-norm, rotate-half rotary embedding,
// causal softmax attention with grouped KV heads, SwiGLU), and the helpers the module
// tests share: small specs, inputs in a device's activation format, comparisons.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "module_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"
#include "ttt/weight_source.hpp"

namespace ttt::test {

using Vec = std::vector<double>;

inline Vec load_double(const WeightSource& w, const std::string& name) {
  const auto f = w.load(name);
  return Vec(f.begin(), f.end());
}

// ---------------------------------------------------------------------------------------
// Reference math. Matrices are row-major; a Hugging Face weight is [out, in].
// ---------------------------------------------------------------------------------------

// y[r] = w x[r] (+ b): x [rows, in], w [out, in] -> [rows, out].
inline Vec ref_linear(const Vec& x, int64_t rows, const Vec& w, int64_t out, int64_t in, const Vec* bias = nullptr) {
  Vec y(static_cast<std::size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias ? (*bias)[static_cast<std::size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        acc += x[static_cast<std::size_t>(r * in + i)] * w[static_cast<std::size_t>(o * in + i)];
      y[static_cast<std::size_t>(r * out + o)] = acc;
    }
  return y;
}

inline Vec ref_rms_norm(const Vec& x, int64_t rows, int64_t dim, const Vec& gamma, double eps) {
  Vec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i)
      ss += x[static_cast<std::size_t>(r * dim + i)] * x[static_cast<std::size_t>(r * dim + i)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i)
      y[static_cast<std::size_t>(r * dim + i)] =
          x[static_cast<std::size_t>(r * dim + i)] * inv * gamma[static_cast<std::size_t>(i)];
  }
  return y;
}

inline double silu(double v) { return v / (1.0 + std::exp(-v)); }

// down(silu(gate x) * up x); `w` holds gate_proj, up_proj, down_proj under `prefix`.
inline Vec ref_mlp(const Vec& x, int64_t rows, const MLPSpec& s, const WeightSource& w,
                   const std::string& prefix = "") {
  const int64_t h = s.hidden_dim, f = s.intermediate_dim;
  const Vec g = ref_linear(x, rows, load_double(w, prefix + "gate_proj.weight"), f, h);
  const Vec u = ref_linear(x, rows, load_double(w, prefix + "up_proj.weight"), f, h);
  Vec m(g.size());
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = silu(g[i]) * u[i];
  return ref_linear(m, rows, load_double(w, prefix + "down_proj.weight"), h, f);
}

// Attention of one user over a growing KV cache: feed() takes that user's next tokens
// (hidden rows) at positions pos..pos+n-1 and returns the attention output rows.
class RefAttention {
 public:
  RefAttention(const AttentionSpec& s, const WeightSource& w, const std::string& prefix = "") : s_(s) {
    wq_ = load_double(w, prefix + "q_proj.weight");
    wk_ = load_double(w, prefix + "k_proj.weight");
    wv_ = load_double(w, prefix + "v_proj.weight");
    wo_ = load_double(w, prefix + "o_proj.weight");
    if (s.qkv_bias) {
      bq_ = load_double(w, prefix + "q_proj.bias");
      bk_ = load_double(w, prefix + "k_proj.bias");
      bv_ = load_double(w, prefix + "v_proj.bias");
    }
    const int64_t half = s.head_size() / 2;
    for (int64_t i = 0; i < half; ++i)
      inv_freq_.push_back(std::pow(s.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(s.head_size())));
  }

  Vec feed(const Vec& x, int64_t n) {
    const int64_t h = s_.hidden_dim, hd = s_.head_size(), nh = s_.num_heads, nkv = s_.kv_heads();
    const bool bias = s_.qkv_bias;
    Vec q = ref_linear(x, n, wq_, s_.q_size(), h, bias ? &bq_ : nullptr);
    Vec k = ref_linear(x, n, wk_, s_.kv_size(), h, bias ? &bk_ : nullptr);
    const Vec v = ref_linear(x, n, wv_, s_.kv_size(), h, bias ? &bv_ : nullptr);
    for (int64_t t = 0; t < n; ++t) {
      rotate(&q[static_cast<std::size_t>(t * s_.q_size())], nh, pos_ + t);
      rotate(&k[static_cast<std::size_t>(t * s_.kv_size())], nkv, pos_ + t);
    }
    k_.insert(k_.end(), k.begin(), k.end());
    v_.insert(v_.end(), v.begin(), v.end());
    Vec attn(static_cast<std::size_t>(n * s_.q_size()));
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (int64_t t = 0; t < n; ++t) {
      const int64_t keys = pos_ + t + 1;  // causal: positions 0..pos+t
      for (int64_t head = 0; head < nh; ++head) {
        const int64_t kvh = head / (nh / nkv);
        const double* qv = &q[static_cast<std::size_t>(t * s_.q_size() + head * hd)];
        Vec sc(static_cast<std::size_t>(keys));
        double mx = -1e300;
        for (int64_t j = 0; j < keys; ++j) {
          const double* kv = &k_[static_cast<std::size_t>(j * s_.kv_size() + kvh * hd)];
          double d = 0;
          for (int64_t i = 0; i < hd; ++i) d += qv[i] * kv[i];
          sc[static_cast<std::size_t>(j)] = d * scale;
          mx = std::max(mx, d * scale);
        }
        double sum = 0;
        for (auto& e : sc) sum += (e = std::exp(e - mx));
        double* o = &attn[static_cast<std::size_t>(t * s_.q_size() + head * hd)];
        for (int64_t j = 0; j < keys; ++j) {
          const double p = sc[static_cast<std::size_t>(j)] / sum;
          const double* vv = &v_[static_cast<std::size_t>(j * s_.kv_size() + kvh * hd)];
          for (int64_t i = 0; i < hd; ++i) o[i] += p * vv[i];
        }
      }
    }
    pos_ += n;
    return ref_linear(attn, n, wo_, h, s_.q_size());
  }

 private:
  void rotate(double* x, int64_t heads, int64_t position) const {
    const int64_t hd = s_.head_size(), half = hd / 2;
    for (int64_t head = 0; head < heads; ++head) {
      double* r = x + head * hd;
      for (int64_t i = 0; i < half; ++i) {
        const double a = r[i], b = r[i + half];
        const double angle = static_cast<double>(position) * inv_freq_[static_cast<std::size_t>(i)];
        r[i] = a * std::cos(angle) - b * std::sin(angle);
        r[i + half] = b * std::cos(angle) + a * std::sin(angle);
      }
    }
  }

  AttentionSpec s_;
  Vec wq_, wk_, wv_, wo_, bq_, bk_, bv_, inv_freq_;
  Vec k_, v_;  // [positions x kv_size], after rotary for k
  int64_t pos_ = 0;
};

// One decoder layer of one user: x + attn(norm(x)), then + mlp(norm(.)).
class RefDecoderLayer {
 public:
  RefDecoderLayer(const DecoderLayerSpec& s, const WeightSource& w, const std::string& prefix)
      : s_(s), attn_(s.attention, w, prefix + "self_attn.") {
    norm1_ = load_double(w, prefix + "input_layernorm.weight");
    norm2_ = load_double(w, prefix + "post_attention_layernorm.weight");
    PrefixedWeightSource mlp(std::shared_ptr<const WeightSource>(&w, [](const WeightSource*) {}), prefix + "mlp.");
    for (const char* n : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"})
      mlp_.add(n, mlp.shape(n), mlp.load(n));
  }
  Vec feed(const Vec& x, int64_t n) {
    const int64_t h = s_.attention.hidden_dim;
    const Vec a = attn_.feed(ref_rms_norm(x, n, h, norm1_, s_.attention_norm.eps), n);
    Vec r1(x.size());
    for (std::size_t i = 0; i < r1.size(); ++i) r1[i] = x[i] + a[i];
    const Vec m = ref_mlp(ref_rms_norm(r1, n, h, norm2_, s_.mlp_norm.eps), n, s_.mlp, mlp_);
    for (std::size_t i = 0; i < r1.size(); ++i) r1[i] += m[i];
    return r1;
  }

 private:
  DecoderLayerSpec s_;
  RefAttention attn_;
  Vec norm1_, norm2_;
  MapWeightSource mlp_;
};

// The whole decoder for one user: feed() returns the logits of every fed token.
class RefTransformer {
 public:
  RefTransformer(const TransformerSpec& s, const WeightSource& w) : s_(s) {
    emb_ = load_double(w, "model.embed_tokens.weight");
    norm_ = load_double(w, "model.norm.weight");
    head_ = load_double(w, s.lm_head.tied_to_embedding ? "model.embed_tokens.weight" : "lm_head.weight");
    for (int64_t l = 0; l < s.num_layers; ++l)
      layers_.push_back(std::make_unique<RefDecoderLayer>(s.layer, w, fmt::format("model.layers.{}.", l)));
  }
  Vec feed(const std::vector<int32_t>& ids) {
    const int64_t h = s_.embedding.dim, n = static_cast<int64_t>(ids.size());
    Vec x(static_cast<std::size_t>(n * h));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < h; ++i)
        x[static_cast<std::size_t>(t * h + i)] =
            emb_[static_cast<std::size_t>(ids[static_cast<std::size_t>(t)] * h + i)];
    for (auto& l : layers_) x = l->feed(x, n);
    return ref_linear(ref_rms_norm(x, n, h, norm_, s_.final_norm.eps), n, head_, s_.lm_head.vocab_size, h);
  }

 private:
  TransformerSpec s_;
  Vec emb_, norm_, head_;
  std::vector<std::unique_ptr<RefDecoderLayer>> layers_;
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

// A small Llama-shaped spec: `layers` layers, hidden h, heads x head_dim, kv heads.
inline TransformerSpec small_spec(int64_t layers, int64_t hidden, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                  int64_t intermediate, int64_t vocab, bool qkv_bias = false) {
  TransformerSpec s;
  s.name = "small";
  s.architecture = "LlamaForCausalLM";
  s.num_layers = layers;
  s.embedding = {vocab, hidden};
  s.layer.attention = AttentionSpec(hidden, heads);
  s.layer.attention.num_kv_heads = kv_heads;
  s.layer.attention.head_dim = head_dim;
  s.layer.attention.max_seq_len = 256;
  s.layer.attention.qkv_bias = qkv_bias;
  s.layer.mlp = {hidden, intermediate, MlpActivation::silu, true, false};
  s.layer.attention_norm = {hidden, 1e-5};
  s.layer.mlp_norm = {hidden, 1e-5};
  s.final_norm = {hidden, 1e-5};
  s.lm_head = {hidden, vocab, false};
  return s;
}

// N(0, 0.6^2) module inputs, deterministic in `seed`.
inline std::vector<float> input_values(std::size_t n, uint64_t seed) {
  return random_weight(Shape{static_cast<int64_t>(n)}, seed, "input", 0.6f);
}

// A module input in the device's activation format (fp32 row-major on cpu, bf16 tiles on ttnn).
inline Tensor activation(const std::vector<float>& values, const Shape& shape, const DeviceSpec& device) {
  return from_float(values, activation_spec("x", shape, device));
}

// The values the module actually receives (after the activation format's rounding).
inline Vec seen(const std::vector<float>& values, const Shape& shape, const DeviceSpec& device) {
  const auto f = to_float(activation(values, shape, device));
  return Vec(f.begin(), f.end());
}

inline double pcc_of(const std::vector<float>& a, const Vec& b) {
  double ma = 0, mb = 0;
  const std::size_t n = a.size();
  for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= static_cast<double>(n), mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

inline double pcc_of(const std::vector<float>& a, const std::vector<float>& b) {
  return pcc_of(a, Vec(b.begin(), b.end()));
}

inline double max_abs_of(const std::vector<float>& a, const Vec& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Rows [row0, row0 + n) of a [rows, width] matrix.
template <typename T>
std::vector<T> rows_of(const std::vector<T>& m, int64_t width, int64_t row0, int64_t n) {
  return std::vector<T>(m.begin() + row0 * width, m.begin() + (row0 + n) * width);
}

// YAML that stores the weights of the named ops in FLOAT32 (and the KV cache in FLOAT32
// when `kv_cache`): the exact-weights configuration on cpu.
inline std::string fp32_weights_yaml(const std::vector<std::string>& weight_ops, bool kv_cache) {
  std::string y = "ops:\n";
  for (const auto& op : weight_ops) y += fmt::format("  {}: {{weights_dtype: FLOAT32}}\n", op);
  if (kv_cache) y += "  kv_cache: {dtype: FLOAT32}\n";
  return y;
}

}  // namespace ttt::test
