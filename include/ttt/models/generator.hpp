// Text generation with a Hugging Face model directory: load (spec, weights, tokenizer),
// build the module tree on a device, prefill each user's prompt, then decode all users
// together, each at its own position, streaming tokens as they come.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ttt/hardware_config.hpp"
#include "ttt/models/sampler.hpp"
#include "ttt/models/tokenizer.hpp"
#include "ttt/modules/transformer.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt {

struct GeneratorOptions {
  std::filesystem::path model_dir;
  std::string device = "cpu";
  ModuleHardwareConfig hw;                  // device filled in from `device` when empty
  std::optional<std::string> cache_dir;     // weight cache; unset: default location
  bool use_weight_cache = true;
  int64_t max_seq_len = 0;                  // KV-cache length per user; 0: prompt + max_tokens
};

struct GenerationParams {
  int64_t max_tokens = 64;
  SamplerParams sampling;
  bool stop_at_eos = true;
};

struct GenerationStats {
  double load_s = 0;           // spec, weights (conversion or cache), module construction
  bool warm_cache = false;     // every weight came from the cache
  int64_t weights_converted = 0;
  int64_t weights_cached = 0;
  double prefill_s = 0;
  int64_t prefill_tokens = 0;
  double decode_s = 0;
  int64_t decode_tokens = 0;   // tokens produced by decode steps, all users
  int64_t decode_steps = 0;
  int64_t peak_rss_bytes = 0;
  double prefill_tok_s() const { return prefill_s > 0 ? prefill_tokens / prefill_s : 0; }
  double decode_tok_s() const { return decode_s > 0 ? decode_tokens / decode_s : 0; }
};

class Generator {
 public:
  explicit Generator(GeneratorOptions options);
  ~Generator();

  // One callback per generated token: (user, token id, text piece).
  using TokenCallback = std::function<void(int64_t user, int32_t token, const std::string& piece)>;

  // Generates for each prompt; returns the generated ids per user (prompt excluded).
  std::vector<std::vector<int32_t>> generate(const std::vector<std::string>& prompts, const GenerationParams& params,
                                             const TokenCallback& on_token = nullptr);
  // The same from token ids (no tokenizer round trip).
  std::vector<std::vector<int32_t>> generate_ids(const std::vector<std::vector<int32_t>>& prompts,
                                                 const GenerationParams& params, const TokenCallback& on_token = nullptr);

  const GenerationStats& stats() const { return stats_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const TransformerSpec& spec() const { return spec_; }
  Transformer& model() { return *model_; }

 private:
  GeneratorOptions options_;
  TransformerSpec spec_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const WeightSource> weights_;
  std::shared_ptr<Device> device_;
  std::shared_ptr<TensorCacheManager> cache_;
  std::unique_ptr<Transformer> model_;
  GenerationStats stats_;
};

// A WeightLoader that keeps converted weights in `cache` (keys from the sources'
// fingerprints, the transform, the stored format and the device architecture).
WeightLoader cached_weight_loader(std::shared_ptr<TensorCacheManager> cache);

// Peak resident set size of this process (VmHWM), bytes.
int64_t peak_rss_bytes();

}  // namespace ttt
