#include "ttt/models/generator.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "ttt/dtype.hpp"
#include "ttt/error.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/safetensors.hpp"
#include "ttt/tensor_cache.hpp"

#include <unistd.h>

namespace ttt {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Every tensor the spec needs is present with the shape config.json implies. Only
// headers are read; a checkpoint that disagrees with its config is reported here, naming
// the safetensors file, the tensor and the config fields, before anything is converted.
void check_checkpoint(const ModelConfig& config, const WeightSource& w) {
  const TransformerSpec& spec = config.spec;
  const AttentionSpec& a = spec.layer.attention;
  const int64_t hid = a.hidden_dim, qs = a.q_size(), kvs = a.kv_size(), inter = spec.layer.mlp.intermediate_dim;
  const int64_t vocab = spec.embedding.vocab_size;
  const std::string cfg = config.file.string();
  const auto need = [&](const std::string& name, Shape want, std::string_view fields) {
    TTT_CHECK(w.has(name), ModelFormat, "{}: missing tensor '{}'; {} ({}) needs it with shape {}", w.describe(), name,
              cfg, fields, want.str());
    const Shape got = w.shape(name);
    TTT_CHECK(got == want, ModelFormat, "{}: tensor '{}' has field 'shape' {}, but {} ({}) needs {}", w.describe(name),
              name, got.str(), cfg, fields, want.str());
  };
  const std::string q = fmt::format("num_attention_heads {} x head_dim {}", a.num_heads, a.head_size());
  const std::string kv = fmt::format("num_key_value_heads {} x head_dim {}", a.kv_heads(), a.head_size());
  const std::string h = fmt::format("hidden_size {}", hid);
  const std::string i = fmt::format("intermediate_size {}", inter);
  const std::string v = fmt::format("vocab_size {}", vocab);
  need("model.embed_tokens.weight", Shape{vocab, hid}, v + ", " + h);
  need("model.norm.weight", Shape{hid}, h);
  if (!spec.lm_head.tied_to_embedding)
    need("lm_head.weight", Shape{vocab, hid}, v + ", " + h + ", tie_word_embeddings false");
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    need(p + "input_layernorm.weight", Shape{hid}, h);
    need(p + "post_attention_layernorm.weight", Shape{hid}, h);
    need(p + "self_attn.q_proj.weight", Shape{qs, hid}, q + ", " + h);
    need(p + "self_attn.k_proj.weight", Shape{kvs, hid}, kv + ", " + h);
    need(p + "self_attn.v_proj.weight", Shape{kvs, hid}, kv + ", " + h);
    need(p + "self_attn.o_proj.weight", Shape{hid, qs}, h + ", " + q);
    if (a.qkv_bias) {
      need(p + "self_attn.q_proj.bias", Shape{qs}, q + ", attention bias");
      need(p + "self_attn.k_proj.bias", Shape{kvs}, kv + ", attention bias");
      need(p + "self_attn.v_proj.bias", Shape{kvs}, kv + ", attention bias");
    }
    if (w.has(p + "self_attn.o_proj.bias")) need(p + "self_attn.o_proj.bias", Shape{hid}, h);
    need(p + "mlp.gate_proj.weight", Shape{inter, hid}, i + ", " + h);
    need(p + "mlp.up_proj.weight", Shape{inter, hid}, i + ", " + h);
    need(p + "mlp.down_proj.weight", Shape{hid, inter}, h + ", " + i);
    if (spec.layer.mlp.bias) {
      need(p + "mlp.gate_proj.bias", Shape{inter}, i + ", mlp_bias");
      need(p + "mlp.up_proj.bias", Shape{inter}, i + ", mlp_bias");
      need(p + "mlp.down_proj.bias", Shape{hid}, h + ", mlp_bias");
    }
  }
}

}  // namespace

WeightLoader cached_weight_loader(std::shared_ptr<TensorCacheManager> cache) {
  return [cache](const WeightSource& src, const WeightRequest& r, const DeviceSpec& d) {
    const TensorSpec stored{r.name, weight_shape(src, r), r.dtype, r.layout, {}};
    std::string source, transform = r.transpose ? "transpose" : "as-is";
    for (const auto& s : r.sources) {
      if (!source.empty()) source.push_back(';');
      source.append(src.fingerprint(s));
    }
    if (r.sources.size() > 1) {
      transform.append("|fuse:");
      for (const auto& s : r.sources) {
        transform.append(s);
        transform.push_back(',');
      }
    }
    if (!r.slices.empty()) transform.append("|slice:").append(describe_slices(r));
    if (r.column_shards > 1) transform.append("|columns:").append(std::to_string(r.column_shards));
    const WeightKey key = make_weight_key(stored, source, transform, d);
    return cache->cache_weight(key, [&] { return convert_weight(src, r, d); });
  };
}

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      try {
        return std::stoll(line.substr(6)) * 1024;
      } catch (...) {
        return 0;
      }
    }
  }
  return 0;
}

Generator::Generator(GeneratorOptions options) : options_(std::move(options)) {
  const auto t0 = Clock::now();
  const ModelConfig config = load_model_config(options_.model_dir);
  spec_ = config.spec;
  tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(options_.model_dir));
  TTT_CHECK(tokenizer_->vocab_size() <= spec_.embedding.vocab_size, ModelFormat,
            "{}: the tokenizer has {} tokens but config.json's vocab_size is {}", options_.model_dir.string(),
            tokenizer_->vocab_size(), spec_.embedding.vocab_size);
  weights_ = std::make_shared<SafetensorsWeights>(SafetensorsWeights::open(options_.model_dir));
  check_checkpoint(config, *weights_);
  device_ = Device::open(options_.device);
  ModuleHardwareConfig hw = options_.hw;
  if (hw.device.empty()) hw.device = device_->name();
  WeightLoader loader;
  if (options_.use_weight_cache) {
    TensorCacheConfig cc;
    cc.cache_dir = options_.cache_dir ? options_.cache_dir : hw.cache_dir;
    cc.cache_namespace = model_cache_namespace(options_.model_dir);
    cache_ = std::make_shared<TensorCacheManager>(device_, cc);
    cache_->set_progress(stderr_progress_bar(isatty(STDERR_FILENO) != 0));
    loader = cached_weight_loader(cache_);
  }
  model_ = std::make_unique<Transformer>(spec_, device_, hw, weights_, loader);
  if (cache_) {
    cache_->finish();
    const TensorCacheStats cs = cache_->stats();
    stats_.weights_cached = cs.hits;
    stats_.weights_converted = cs.misses;
    stats_.warm_cache = cs.misses == 0 && cs.hits > 0;
  }
  stats_.load_s = seconds_since(t0);
  stats_.peak_rss_bytes = peak_rss_bytes();
}

Generator::~Generator() = default;

std::vector<std::vector<int32_t>> Generator::generate(const std::vector<std::string>& prompts,
                                                      const GenerationParams& params, const TokenCallback& on_token) {
  std::vector<std::vector<int32_t>> ids;
  for (const auto& p : prompts) ids.push_back(tokenizer_->encode(p, true));
  return generate_ids(ids, params, on_token);
}

std::vector<std::vector<int32_t>> Generator::generate_ids(const std::vector<std::vector<int32_t>>& prompts,
                                                          const GenerationParams& params,
                                                          const TokenCallback& on_token) {
  params.sampling.validate();
  TTT_CHECK(!prompts.empty(), InvalidConfig, "generate: no prompt given");
  TTT_CHECK(params.max_tokens >= 0, InvalidConfig, "generate: max_tokens must be >= 0, got {}", params.max_tokens);
  const int64_t users = static_cast<int64_t>(prompts.size());
  int64_t longest = 0;
  for (const auto& p : prompts) {
    TTT_CHECK(!p.empty(), InvalidConfig, "generate: an empty prompt (add a BOS token or some text)");
    for (int32_t id : p)
      TTT_CHECK(id >= 0 && id < spec_.embedding.vocab_size, InvalidConfig, "generate: token id {} outside the vocabulary [0, {})",
                id, spec_.embedding.vocab_size);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  const int64_t needed = longest + params.max_tokens;
  // A KV cache a whole number of tiles long: ttnn's decode attention reads it in chunks
  // of 32 positions; the rows past `needed` are never attended to.
  const int64_t max_len = options_.max_seq_len > 0 ? options_.max_seq_len : round_up(needed, kTileSize);
  TTT_CHECK(needed <= spec_.layer.attention.max_seq_len, InvalidConfig,
            "generate: prompt ({} tokens) plus max_tokens ({}) needs {} positions, but {} allows {} "
            "(max_position_embeddings); use at most {} max_tokens",
            longest, params.max_tokens, needed, (options_.model_dir / "config.json").string(),
            spec_.layer.attention.max_seq_len, std::max<int64_t>(0, spec_.layer.attention.max_seq_len - longest));
  TTT_CHECK(needed <= max_len, InvalidConfig, "generate: {} positions needed but the KV cache holds {}", needed, max_len);

  model_->compile_decode(DecodeShape{users, max_len});
  model_->compile(PrefillShape{1, longest});

  std::vector<Sampler> samplers;
  for (int64_t u = 0; u < users; ++u) {
    SamplerParams sp = params.sampling;
    sp.seed = params.sampling.seed + static_cast<uint64_t>(u);
    samplers.emplace_back(sp);
  }
  std::vector<StreamDecoder> streams;
  for (int64_t u = 0; u < users; ++u) streams.emplace_back(*tokenizer_);

  std::vector<std::vector<int32_t>> out(static_cast<std::size_t>(users));
  std::vector<int32_t> next(static_cast<std::size_t>(users));
  std::vector<int32_t> positions(static_cast<std::size_t>(users));
  std::vector<bool> done(static_cast<std::size_t>(users), params.max_tokens == 0);
  std::vector<float> logits;
  auto emit = [&](int64_t u, int32_t tok) {
    out[static_cast<std::size_t>(u)].push_back(tok);
    if (on_token) on_token(u, tok, streams[static_cast<std::size_t>(u)].push(tok));
    if ((params.stop_at_eos && tokenizer_->is_eos(tok)) ||
        static_cast<int64_t>(out[static_cast<std::size_t>(u)].size()) >= params.max_tokens)
      done[static_cast<std::size_t>(u)] = true;
  };

  // Prefill one user at a time (each prompt has its own length), filling its cache rows.
  const auto t_pre = Clock::now();
  for (int64_t u = 0; u < users; ++u) {
    const auto& p = prompts[static_cast<std::size_t>(u)];
    const Tensor& l = model_->forward_prefill(p, 1, u);
    logits = to_float(l);
    stats_.prefill_tokens += static_cast<int64_t>(p.size());
    positions[static_cast<std::size_t>(u)] = static_cast<int32_t>(p.size());
    if (!done[static_cast<std::size_t>(u)]) {
      next[static_cast<std::size_t>(u)] = samplers[static_cast<std::size_t>(u)].sample(logits);
      emit(u, next[static_cast<std::size_t>(u)]);
    }
  }
  stats_.prefill_s = seconds_since(t_pre);

  // Decode all users together; a finished user keeps stepping on its last token (its
  // output is ignored) so the batch shape never changes.
  const auto t_dec = Clock::now();
  const int64_t vocab = spec_.lm_head.vocab_size;
  std::vector<float> all(static_cast<std::size_t>(users * vocab));
  while (std::find(done.begin(), done.end(), false) != done.end()) {
    const Tensor& l = model_->forward_decode(next, positions);
    to_float(l, all);
    ++stats_.decode_steps;
    for (int64_t u = 0; u < users; ++u) {
      auto uu = static_cast<std::size_t>(u);
      if (done[uu]) continue;
      ++positions[uu];
      std::span<const float> row(all.data() + u * vocab, static_cast<std::size_t>(vocab));
      next[uu] = samplers[uu].sample(row);
      ++stats_.decode_tokens;
      emit(u, next[uu]);
    }
  }
  stats_.decode_s = seconds_since(t_dec);
  stats_.peak_rss_bytes = peak_rss_bytes();
  return out;
}

}  // namespace ttt
