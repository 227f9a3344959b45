#include "tune/tune_eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/random_weights.hpp"
#include "ttt/models/reference_model.hpp"
#include "ttt/profiler.hpp"
#include "ttt/yaml_fields.hpp"
#include "tune/tune_cache.hpp"

namespace ttt::tune_detail {
namespace {

using Clock = std::chrono::steady_clock;

std::string spec_text(const TransformerSpec& s) {
  const AttentionSpec& a = s.layer.attention;
  return fmt::format("{} layers={} hidden={} heads={}/{} head_dim={} max_seq={} theta={} rope={}:{} qkv_bias={} ffn={} "
                     "vocab={} tied={} eps={}",
                     s.name, s.num_layers, a.hidden_dim, a.num_heads, a.kv_heads(), a.head_size(), a.max_seq_len,
                     a.rope_theta, to_string(a.rope_scaling.type), a.rope_scaling.factor, a.qkv_bias,
                     s.layer.mlp.intermediate_dim, s.embedding.vocab_size, s.lm_head.tied_to_embedding,
                     s.final_norm.eps);
}

}  // namespace

TreeTotals tree_totals(const Transformer& tree, Mode mode) {
  TreeTotals t;
  for (const ResolvedOp& r : tree.all_ops(mode)) {
    t.step_s += r.cost.total_s();
    t.bytes += r.weight_bytes + r.output_bytes;
    t.weight_bytes += r.weight_bytes;
  }
  return t;
}

double pcc(const std::vector<float>& a, const std::vector<double>& b) {
  TTT_CHECK(a.size() == b.size() && !a.empty(), ShapeMismatch, "pcc: {} values against {} reference values", a.size(),
            b.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double da = a[i] - ma, db = b[i] - mb;
    if (!std::isfinite(da)) return -1.0;  // a NaN or inf in the output: no correlation to speak of
    sab += da * db, saa += da * da, sbb += db * db;
  }
  if (saa == 0 || sbb == 0) return saa == sbb ? 1.0 : 0.0;
  return sab / std::sqrt(saa * sbb);
}

Evaluator::Evaluator(const TuneOptions& options, TransformerSpec spec)
    : o_(options), spec_(std::move(spec)), device_(Device::open(options.device)) {
  weights_ = o_.weights ? o_.weights : std::make_shared<RandomWeightSource>(o_.spec, 1);
  // Fixed tokens, away from the special ids at the start of a vocabulary.
  std::mt19937 rng(20261124);
  const int64_t vocab = spec_.embedding.vocab_size;
  std::uniform_int_distribution<int32_t> tok(static_cast<int32_t>(std::min<int64_t>(3, vocab - 1)),
                                             static_cast<int32_t>(vocab - 1));
  const ModuleShapes& s = o_.start.shapes;
  const int64_t n = o_.mode == Mode::decode ? o_.tokens : s.prefill_seq;
  for (int64_t i = 0; i < n; ++i) tokens_.push_back(tok(rng));
  std::string fingerprints;
  for (const std::string& name : weights_->names()) fingerprints += weights_->fingerprint(name) + ";";
  context_ = fmt::format("tune-v1|exe={}|device={}|mode={}|spec={}|weights={:016x}|tokens={}|timing={}/{}|shapes={}",
                         executable_hash(), o_.device, to_string(o_.mode), spec_text(spec_),
                         hash_bytes(fingerprints.data(), fingerprints.size()), fmt::join(tokens_, ","),
                         o_.timing_steps, o_.min_timed_s, fields_str(s));
}

TransformerSpec Evaluator::with_layers(int64_t layers) const {
  TransformerSpec s = layers > 0 ? o_.spec : spec_;
  if (layers > 0) s.num_layers = std::min(s.num_layers, layers);
  return s;
}

std::unique_ptr<Transformer> Evaluator::spec_tree(const ModuleHardwareConfig& hw, int64_t layers) const {
  return std::make_unique<Transformer>(with_layers(layers), device_, hw);
}

Tensor Evaluator::load_weight(const WeightSource& source, const WeightRequest& r, const DeviceSpec& device) {
  const std::string key = fmt::format("{}|{}|{}|{}|{}", r.name, fmt::join(r.sources, ","), r.transpose,
                                      to_string(r.dtype), to_string(r.layout));
  auto it = converted_.find(key);
  if (it == converted_.end()) it = converted_.emplace(key, convert_weight(source, r, device)).first;
  return it->second;
}

std::unique_ptr<Transformer> Evaluator::model(const ModuleHardwareConfig& hw, int64_t layers) {
  WeightLoader loader = [this](const WeightSource& source, const WeightRequest& r, const DeviceSpec& d) {
    return load_weight(source, r, d);
  };
  return std::make_unique<Transformer>(with_layers(layers), device_, hw, weights_, loader);
}

std::vector<float> Evaluator::start(Transformer& model, const ModuleHardwareConfig& hw) {
  const ModuleShapes& s = hw.shapes;
  OpProfiler::enable(false);
  if (o_.mode == Mode::prefill) {
    model.compile(PrefillShape{s.prefill_batch, s.prefill_seq});
    std::vector<int32_t> ids;
    for (int64_t u = 0; u < s.prefill_batch; ++u) ids.insert(ids.end(), tokens_.begin(), tokens_.end());
    return to_float(model.forward_prefill(ids, s.prefill_batch));
  }
  const int64_t n = static_cast<int64_t>(tokens_.size());
  TTT_CHECK(n < s.cache_len, InvalidConfig,
            "tune: {} accuracy tokens and the timed steps need a KV cache of {} positions; the shapes give {} "
            "(shapes.cache_len); raise it (--seq-len) or lower --tokens",
            n, n + 1, s.cache_len);
  model.compile_decode(DecodeShape{s.decode_batch, s.cache_len});
  std::vector<int32_t> ids(static_cast<std::size_t>(s.decode_batch)), pos(ids.size());
  std::vector<float> logits;
  for (int64_t t = 0; t < n; ++t) {
    std::fill(ids.begin(), ids.end(), tokens_[static_cast<std::size_t>(t)]);
    std::fill(pos.begin(), pos.end(), static_cast<int32_t>(t));
    const std::vector<float> l = to_float(model.forward_decode(ids, pos));
    logits.insert(logits.end(), l.begin(), l.end());
  }
  return logits;
}

void Evaluator::timed_step(Transformer& model, const ModuleHardwareConfig& hw, bool profile, ModelRun& out) {
  const ModuleShapes& s = hw.shapes;
  OpProfiler::enable(profile);
  OpProfiler::take();
  const auto t0 = Clock::now();
  if (o_.mode == Mode::decode) {
    // Decode the position after the accuracy tokens again and again (each step rewrites
    // its cache row).
    const std::vector<int32_t> ids(static_cast<std::size_t>(s.decode_batch), tokens_.front());
    const std::vector<int32_t> pos(ids.size(), static_cast<int32_t>(tokens_.size()));
    model.forward_decode(ids, pos);
  } else {
    std::vector<int32_t> ids;
    for (int64_t u = 0; u < s.prefill_batch; ++u) ids.insert(ids.end(), tokens_.begin(), tokens_.end());
    model.forward_prefill(ids, s.prefill_batch);
  }
  out.step_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  out.op_s.push_back(OpProfiler::take());
  OpProfiler::enable(false);
}

double Evaluator::pcc(const std::vector<float>& logits) {
  if (!reference_) {
    ReferenceModel ref(spec_, *weights_);
    const ModuleShapes& s = o_.start.shapes;
    const int64_t users = o_.mode == Mode::decode ? s.decode_batch : s.prefill_batch;
    const std::vector<double> all =
        o_.mode == Mode::decode ? ref.forward_all(tokens_) : ref.forward(std::span<const int32_t>(tokens_));
    const std::size_t vocab = static_cast<std::size_t>(spec_.lm_head.vocab_size);
    // Every user was fed the same tokens: the reference's rows repeat per user, in the
    // order the model returns them (decode: step by step, users within a step).
    std::vector<double> ref_logits;
    for (std::size_t row = 0; row < all.size() / vocab; ++row)
      for (int64_t u = 0; u < users; ++u)
        ref_logits.insert(ref_logits.end(), all.begin() + static_cast<std::ptrdiff_t>(row * vocab),
                          all.begin() + static_cast<std::ptrdiff_t>((row + 1) * vocab));
    reference_ = std::move(ref_logits);
  }
  return tune_detail::pcc(logits, *reference_);
}

}  // namespace ttt::tune_detail
