#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <random>

#include "model_test_util.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/reference_model.hpp"
#include "ttt/models/tokenizer.hpp"

namespace ttt {
namespace {

using test::error_of;
using test::parse_ids;

// From shared/models/README.md.
constexpr std::string_view kStoriesIds =
    "432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 "
    "385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267 337 335 312 432 398 312 286 267 414 270 "
    "333 415 426 13 438 310 439 419 357 336";
constexpr std::string_view kStoriesText =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";
constexpr std::string_view kAidreamsIds =
    "446 280 432 458 375 431 422 314 280 323 290 431 448 429 465 438 340 431 338 353 341 431 327 446 262 429 453 "
    "435 285 361 437 431 440 437 445 430 275 280 302 450";
constexpr std::string_view kAidreamsText = ", pixels unfolding like petals. Classifications unfold, a kaleid";

struct Top {
  int32_t id;
  double logit;
};

void expect_top5(const std::vector<double>& logits, const std::vector<Top>& want) {
  std::vector<int32_t> order(logits.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](int32_t a, int32_t b) { return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)]; });
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(order[k], want[k].id) << "rank " << k;
    EXPECT_NEAR(logits[static_cast<std::size_t>(want[k].id)], want[k].logit, 1e-4) << "token " << want[k].id;
  }
}

struct Golden {
  std::string_view model;
  std::string_view ids;
  std::string_view text;
  std::size_t text_tokens;
  std::vector<Top> top5;
};

void check_golden(const Golden& g) {
  const auto dir = test::model_path(g.model);
  const Tokenizer tok = Tokenizer::load(dir);
  ReferenceModel model(load_model_spec(dir), SafetensorsWeights::open(dir));
  const std::vector<int32_t> prompt = tok.encode("Once upon a time");
  const std::vector<int32_t> want = parse_ids(g.ids);

  const std::vector<int32_t> got = model.generate_greedy(prompt, static_cast<int64_t>(want.size()));
  EXPECT_EQ(got, want);
  EXPECT_EQ(model.position(), static_cast<int64_t>(prompt.size() + want.size() - 1));
  EXPECT_EQ(tok.decode(std::span(got).first(std::min(g.text_tokens, got.size()))), g.text);

  model.reset();
  expect_top5(model.forward(prompt), g.top5);
}

TEST(ReferenceModel, Stories260KGreedyMatchesReadme) {
  check_golden({"stories260K", kStoriesIds, kStoriesText, 40,
                {{432, 17.799398}, {383, 14.281259}, {322, 9.709651}, {353, 9.587290}, {323, 9.134243}}});
}

TEST(ReferenceModel, Stories260KBf16ShardedGreedyMatchesReadme) {
  check_golden({"stories260K-bf16-sharded", kStoriesIds, kStoriesText, 40,
                {{432, 17.807041}, {383, 14.294178}, {322, 9.722648}, {353, 9.607375}, {323, 9.102292}}});
}

TEST(ReferenceModel, Aidreams260KGreedyMatchesReadme) {
  check_golden({"aidreams260K", kAidreamsIds, kAidreamsText, 30,
                {{446, 8.462833}, {275, 7.016446}, {281, 5.290292}, {279, 5.225535}, {448, 5.203812}}});
}

// Prefill in one call, token by token, and forward_all all give the same logits.
TEST(ReferenceModel, KvCacheIsConsistent) {
  const auto dir = test::model_path("stories260K");
  ReferenceModel model(load_model_spec(dir), SafetensorsWeights::open(dir));
  const auto seq = parse_ids("1 403 407 261 378 432 383");
  const auto all = model.forward_all(seq);
  EXPECT_EQ(model.position(), 7);
  model.reset();
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const auto step = model.forward(std::span(seq).subspan(i, 1));
    for (std::size_t v = 0; v < step.size(); ++v) ASSERT_EQ(step[v], all[i * 512 + v]);
  }
  model.set_record_layers(true);
  model.reset();
  model.forward(seq);
  EXPECT_EQ(model.layer_output(5).size(), 7u * 64u);
  error_of([&] { model.layer_output(6); }, ErrorKind::InvalidConfig);
  error_of([&] { model.forward(std::vector<int32_t>{512}); }, ErrorKind::InvalidConfig);
}

TEST(ReferenceModel, StopsAtMaxPositions) {
  const auto dir = test::model_path("aidreams260K");
  ReferenceModel model(load_model_spec(dir), SafetensorsWeights::open(dir));
  std::vector<int32_t> prompt(128, 400);
  model.forward(prompt);
  const auto msg = error_of([&] { model.forward(std::vector<int32_t>{5}); }, ErrorKind::InvalidConfig);
  EXPECT_NE(msg.find("max_seq_len 128"), std::string::npos) << msg;
}

// transformers' _compute_llama3_parameters, written as it is there (masks over the
// whole vector), to check ours.
TEST(ReferenceModel, RopeFrequencies) {
  const TransformerSpec s = builtin_spec("llama-3.2-1b");
  const auto inv = rope_inverse_frequencies(s.layer.attention);
  ASSERT_EQ(inv.size(), 32u);
  const double factor = 32, low = 1, high = 4, old = 8192;
  for (std::size_t i = 0; i < inv.size(); ++i) {
    const double base = 1.0 / std::pow(500000.0, 2.0 * static_cast<double>(i) / 64.0);
    const double wavelen = 2 * std::numbers::pi / base;
    double f = wavelen > old / low ? base / factor : base;
    const double smooth = (old / wavelen - low) / (high - low);
    const double smoothed = (1 - smooth) * f / factor + smooth * f;
    const bool medium = !(wavelen < old / high) && !(wavelen > old / low);
    if (medium) f = smoothed;
    EXPECT_NEAR(inv[i], f, 1e-15 * std::max(1.0, f)) << i;
  }
  AttentionSpec linear = s.layer.attention;
  linear.rope_scaling = {RopeScalingType::linear, 4.0};
  linear.rope_theta = 10000;
  const auto lin = rope_inverse_frequencies(linear);
  EXPECT_DOUBLE_EQ(lin[1], std::pow(10000.0, -2.0 / 64.0) / 4.0);
}

// ---------------------------------------------------------------------------------------
// A tiny random model with every optional tensor, against hand-computed first-token logits.
// ---------------------------------------------------------------------------------------

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

struct Weights {
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> t;
  std::mt19937 rng{5};
  const std::vector<float>& add(const std::string& name, std::vector<int64_t> shape, float scale = 0.5f) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return (t[name] = {std::move(shape), std::move(v)}).second;
  }
  void write(const std::filesystem::path& file) const {
    std::string header = "{", data;
    for (const auto& [name, e] : t) {
      header += fmt::format("{}\"{}\": {{\"dtype\": \"F32\", \"shape\": [{}], \"data_offsets\": [{}, {}]}}",
                            header.size() > 1 ? ", " : "", name, fmt::join(e.first, ", "), data.size(),
                            data.size() + e.second.size() * 4);
      data.append(reinterpret_cast<const char*>(e.second.data()), e.second.size() * 4);
    }
    header += "}";
    test::write_file(file, le64(header.size()) + header + data);
  }
};

std::vector<double> matvec(const std::vector<float>& w, const std::vector<double>& x, const std::vector<float>* b) {
  const std::size_t in = x.size(), out = w.size() / in;
  std::vector<double> y(out);
  for (std::size_t o = 0; o < out; ++o) {
    for (std::size_t i = 0; i < in; ++i) y[o] += static_cast<double>(w[o * in + i]) * x[i];
    if (b) y[o] += (*b)[o];
  }
  return y;
}

std::vector<double> rms(const std::vector<double>& x, const std::vector<float>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ss / static_cast<double>(x.size()) + eps) * w[i];
  return y;
}

TEST(ReferenceModel, TinyModelWithBiasesAndUntiedHead) {
  const ModelConfig mc = parse_model_config(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8,
      "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
      "vocab_size": 10, "rms_norm_eps": 1e-5, "max_position_embeddings": 16, "attention_bias": true,
      "mlp_bias": true, "tie_word_embeddings": false})", "tiny/config.json", "tiny");
  const TransformerSpec& spec = mc.spec;
  Weights w;
  const auto& emb = w.add("model.embed_tokens.weight", {10, 8});
  const auto& n_in = w.add("model.layers.0.input_layernorm.weight", {8});
  const auto& n_post = w.add("model.layers.0.post_attention_layernorm.weight", {8});
  const auto& n_final = w.add("model.norm.weight", {8});
  w.add("model.layers.0.self_attn.q_proj.weight", {8, 8});
  w.add("model.layers.0.self_attn.k_proj.weight", {4, 8});
  const auto& wv = w.add("model.layers.0.self_attn.v_proj.weight", {4, 8});
  const auto& wo = w.add("model.layers.0.self_attn.o_proj.weight", {8, 8});
  w.add("model.layers.0.self_attn.q_proj.bias", {8});
  w.add("model.layers.0.self_attn.k_proj.bias", {4});
  const auto& bv = w.add("model.layers.0.self_attn.v_proj.bias", {4});
  const auto& bo = w.add("model.layers.0.self_attn.o_proj.bias", {8});
  const auto& wg = w.add("model.layers.0.mlp.gate_proj.weight", {12, 8});
  const auto& wu = w.add("model.layers.0.mlp.up_proj.weight", {12, 8});
  const auto& wd = w.add("model.layers.0.mlp.down_proj.weight", {8, 12});
  const auto& bg = w.add("model.layers.0.mlp.gate_proj.bias", {12});
  const auto& bu = w.add("model.layers.0.mlp.up_proj.bias", {12});
  const auto& bd = w.add("model.layers.0.mlp.down_proj.bias", {8});
  const auto& head = w.add("lm_head.weight", {10, 8});
  test::TempDir dir;
  w.write(dir / "model.safetensors");

  ReferenceModel model(spec, SafetensorsWeights::open(dir.path()));
  const int32_t token = 3;
  const auto logits = model.forward(std::vector<int32_t>{token});

  // One token: attention returns its own value vector; query head h reads kv head h / 2.
  std::vector<double> x(emb.begin() + token * 8, emb.begin() + token * 8 + 8);
  const auto v = matvec(wv, rms(x, n_in, 1e-5), &bv);
  std::vector<double> attn(8);
  for (int h = 0; h < 4; ++h) {
    for (int i = 0; i < 2; ++i) attn[static_cast<std::size_t>(h * 2 + i)] = v[static_cast<std::size_t>((h / 2) * 2 + i)];
  }
  const auto o = matvec(wo, attn, &bo);
  for (std::size_t i = 0; i < 8; ++i) x[i] += o[i];
  const auto h2 = rms(x, n_post, 1e-5);
  auto g = matvec(wg, h2, &bg);
  const auto u = matvec(wu, h2, &bu);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  const auto d = matvec(wd, g, &bd);
  for (std::size_t i = 0; i < 8; ++i) x[i] += d[i];
  const auto want = matvec(head, rms(x, n_final, 1e-5), nullptr);
  ASSERT_EQ(logits.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(logits[i], want[i], 1e-12) << i;

  // A missing or misshapen tensor is named.
  w.t.erase("lm_head.weight");
  w.write(dir / "model.safetensors");
  auto msg = error_of([&] { ReferenceModel(spec, SafetensorsWeights::open(dir.path())); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("missing tensor 'lm_head.weight' (expected shape [10, 8])"), std::string::npos) << msg;
  w.add("lm_head.weight", {10, 7});
  w.write(dir / "model.safetensors");
  msg = error_of([&] { ReferenceModel(spec, SafetensorsWeights::open(dir.path())); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("'lm_head.weight' has shape [10, 7]; the model's config needs [10, 8]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ttt
