// The search: op by op (largest share of the step first), axis by axis, the candidates
// of an axis are measured, ranked by the target's score, and the best one whose logits
// PCC stays at or above min_pcc replaces the op's config when it beats the current one
// by more than the noise margin. docs/tuning.md has the details.
#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/tune.hpp"
#include "tune/measure.hpp"
#include "tune/tune_yaml.hpp"

namespace ttt {
using namespace tune_detail;
namespace {

// How time and bytes weigh in a candidate's score, each relative to the current config.
struct ScoreWeights {
  double time, bytes;
};
ScoreWeights score_weights(OptimizationTarget t) {
  switch (t) {
    case OptimizationTarget::latency: return {1.0, 1e-3};
    case OptimizationTarget::memory: return {1e-3, 1.0};
    case OptimizationTarget::balanced: return {0.5, 0.5};
  }
  return {1.0, 0.0};
}

// A candidate must beat the current config's score by this fraction: the cost model is
// exact, host timings are not.
double noise_margin(const DeviceSpec& d) { return d.is_ttnn() ? 1e-3 : 0.03; }

const ResolvedOp& find_op(const Transformer& tree, Mode mode, const std::string& path,
                          std::vector<ResolvedOp>& storage) {
  storage = tree.all_ops(mode);
  for (const ResolvedOp& r : storage)
    if (r.path == path) return r;
  fail(ErrorKind::InvalidConfig, "tune: the tree has no {} op '{}'", to_string(mode), path);
}

void check_options(const TuneOptions& o) {
  TTT_CHECK(o.layers >= 1, InvalidConfig, "tune: layers {} must be at least 1 (--layers)", o.layers);
  TTT_CHECK(o.tokens >= 1, InvalidConfig, "tune: tokens {} must be at least 1 (--tokens)", o.tokens);
  TTT_CHECK(o.timing_steps >= 1, InvalidConfig, "tune: timing steps {} must be at least 1 (--timing-steps)",
            o.timing_steps);
  TTT_CHECK(o.min_pcc > -1.0 && o.min_pcc <= 1.0, InvalidConfig, "tune: min PCC {} must be in (-1, 1] (--min-pcc)",
            o.min_pcc);
  TTT_CHECK(o.min_timed_s >= 0, InvalidConfig, "tune: min timed seconds {} must not be negative", o.min_timed_s);
  TTT_CHECK(o.budget_s >= 0, InvalidConfig, "tune: budget {} s must not be negative (--budget-s)", o.budget_s);
  TTT_CHECK(o.start.device.empty() || o.start.device == o.device, InvalidConfig,
            "tune: the start configuration is for device '{}' but tuning is for '{}'; drop one of them",
            o.start.device, o.device);
}

class Tuner {
 public:
  explicit Tuner(const TuneOptions& o)
      : o_(o), spec_(tuning_spec(o)), m_(o, spec_), device_(Device::spec_for(o.device)), start_(o.start) {
    start_.device = o.device;
  }

  TuneResult run();

 private:
  static TransformerSpec tuning_spec(const TuneOptions& o) {
    TransformerSpec s = o.spec;
    s.num_layers = std::min(s.num_layers, o.layers);
    return s;
  }
  ModuleHardwareConfig hw_of(const std::vector<Winner>& ws) const {
    return load_rendered(render_yaml(start_, ws, {}), start_);
  }
  bool out_of_budget() {
    if (o_.budget_s > 0 && m_.elapsed_s() > o_.budget_s) m_.stats().budget_exhausted = true;
    return m_.stats().budget_exhausted;
  }
  void report(const std::string& op, const std::string& axis, double start_s, double best_s) {
    if (!o_.progress) return;
    TuneProgress p;
    p.tried = tried_;
    p.expected = std::max(expected_, tried_);
    p.op = op;
    p.axis = axis;
    p.start_score_s = start_s;
    p.best_s = best_s;
    p.cache_hits = m_.stats().cache_hits;
    p.elapsed_s = m_.elapsed_s();
    o_.progress(p);
  }
  std::vector<ResolvedOp> ops_to_tune(const Transformer& start_tree);
  TunedOp tune_op(const ResolvedOp& op, std::vector<Winner>& winners);
  static std::vector<Winner> with_winner(std::vector<Winner> ws, const Winner& w) {
    auto it = std::find_if(ws.begin(), ws.end(), [&](const Winner& x) { return x.key == w.key; });
    if (it != ws.end()) *it = w;
    else ws.push_back(w);
    return ws;
  }

  const TuneOptions& o_;
  TransformerSpec spec_;
  Measurer m_;
  DeviceSpec device_;
  ModuleHardwareConfig start_;
  int64_t tried_ = 0, expected_ = 0;
  std::vector<TuneTrial> trials_;
};

std::vector<ResolvedOp> Tuner::ops_to_tune(const Transformer& start_tree) {
  const TreeTotals total = tree_totals(start_tree, o_.mode);
  const ScoreWeights w = score_weights(o_.target);
  std::vector<std::pair<double, ResolvedOp>> ranked;
  for (const ResolvedOp& r : start_tree.all_ops(o_.mode)) {
    const bool layer_op = r.path.rfind("layers.", 0) == 0;
    if (layer_op && r.path.rfind("layers.0.", 0) != 0) continue;  // layers.0 stands for every layer
    if (!o_.only_ops.empty() &&
        std::find(o_.only_ops.begin(), o_.only_ops.end(), r.name) == o_.only_ops.end() &&
        std::find(o_.only_ops.begin(), o_.only_ops.end(), r.path) == o_.only_ops.end())
      continue;
    // A code override replaces the whole config and would win over any candidate.
    if (r.source == ConfigSource::code || candidate_axes(r, o_.mode, device_).empty()) {
      ++m_.stats().ops_skipped;
      continue;
    }
    const double copies = layer_op ? static_cast<double>(spec_.num_layers) : 1.0;
    const double time_share = total.step_s > 0 ? copies * r.cost.total_s() / total.step_s : 0.0;
    const double byte_share =
        total.bytes > 0 ? copies * static_cast<double>(r.weight_bytes + r.output_bytes) / total.bytes : 0.0;
    const double share = w.time >= 0.5 && w.bytes >= 0.5 ? std::max(time_share, byte_share)
                         : w.time > w.bytes              ? time_share
                                                         : byte_share;
    if (share < o_.min_share && o_.only_ops.empty()) {
      ++m_.stats().ops_skipped;
      continue;
    }
    ranked.emplace_back(share, r);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ResolvedOp> out;
  for (auto& [share, r] : ranked) {
    for (const TuneAxis& a : candidate_axes(r, o_.mode, device_)) expected_ += static_cast<int64_t>(a.values.size());
    out.push_back(std::move(r));
  }
  return out;
}

TunedOp Tuner::tune_op(const ResolvedOp& op, std::vector<Winner>& winners) {
  const ScoreWeights w = score_weights(o_.target);
  const double margin = noise_margin(device_);
  const bool host = !device_.is_ttnn();
  TunedOp rec;
  rec.key = override_key(op.path);
  rec.path = op.path;
  rec.start = op.config;
  rec.tuned = op.config;

  ModuleHardwareConfig cur_hw = hw_of(winners);
  std::shared_ptr<Transformer> cur_tree = m_.evaluator().spec_tree(cur_hw);
  // The current config's measure: on ttnn devices the cost model's, on the host measured
  // again with each axis's candidates (they take turns).
  Measure inc;
  bool measured_inc = false;
  if (!host) {
    inc = m_.measure(cur_hw, *cur_tree, op.path, false);
    rec.start_s = inc.time_s;
    measured_inc = true;
  }
  std::optional<double> won_s;  // the last winner's measure, in the round it won
  std::vector<ResolvedOp> storage;
  OpConfig current = find_op(*cur_tree, o_.mode, op.path, storage).config;
  ResolvedOp axis_op = find_op(*cur_tree, o_.mode, op.path, storage);
  report(op.path, "", rec.start_s, inc.time_s);

  for (std::size_t axis_index = 0;; ++axis_index) {
    // Axes around the current winner (an earlier axis may have changed it).
    axis_op.config = current;
    const std::vector<TuneAxis> axes = candidate_axes(axis_op, o_.mode, device_);
    if (axis_index >= axes.size()) break;
    const TuneAxis& axis = axes[axis_index];
    struct Candidate {
      OpConfig config;
      ModuleHardwareConfig hw;
      std::shared_ptr<Transformer> tree;
      Measure m;
      double score = 0;
      std::size_t trial = 0;
    };
    std::vector<Candidate> cands;
    for (const OpConfig& cfg : axis.values) {
      if (out_of_budget()) break;
      ++tried_;
      ++m_.stats().proposed;
      Candidate c{cfg, hw_of(with_winner(winners, Winner{rec.key, o_.mode, op.config, cfg, op.shape.kind == OpKind::kv_cache})), nullptr, {}, 0,
                  trials_.size()};
      trials_.push_back(TuneTrial{op.path, axis.name, cfg, false, "", 0, 0, std::nullopt, false});
      try {
        c.tree = m_.evaluator().spec_tree(c.hw);
        // The file must reproduce the candidate exactly.
        TTT_CHECK(find_op(*c.tree, o_.mode, op.path, storage).config == cfg, InvalidConfig,
                  "tune: {} resolves to another config than the candidate", op.path);
      } catch (const Error& e) {
        trials_[c.trial].problem = e.detail();
        ++m_.stats().rejected_invalid;
        report(op.path, axis.name, rec.start_s, inc.time_s);
        continue;
      }
      if (!host) c.m = m_.measure(c.hw, *c.tree, op.path, false);
      cands.push_back(std::move(c));
      report(op.path, axis.name, rec.start_s, inc.time_s);
    }
    if (host && !cands.empty()) {
      std::vector<Measurer::HostConfig> group{{&cur_hw, cur_tree.get()}};
      for (const Candidate& c : cands) group.push_back({&c.hw, c.tree.get()});
      const std::vector<HostRun> runs = m_.host_runs(group);
      inc = host_measure(runs[0], tree_totals(*cur_tree, o_.mode), op.path);
      for (std::size_t i = 0; i < cands.size(); ++i)
        cands[i].m = host_measure(runs[i + 1], tree_totals(*cands[i].tree, o_.mode), op.path);
      if (!measured_inc) rec.start_s = inc.time_s, measured_inc = true;
    }
    for (Candidate& c : cands) {
      ++m_.stats().measured;
      TuneTrial& t = trials_[c.trial];
      t.valid = true, t.time_s = c.m.time_s, t.bytes = c.m.bytes, t.pcc = c.m.pcc;
    }
    const double inc_score = w.time + w.bytes;
    for (Candidate& c : cands)
      c.score = w.time * (inc.time_s > 0 ? c.m.time_s / inc.time_s : 1.0) +
                w.bytes * (inc.bytes > 0 ? static_cast<double>(c.m.bytes) / static_cast<double>(inc.bytes) : 1.0);
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
    for (Candidate& c : cands) {
      if (c.score >= inc_score * (1.0 - margin)) break;
      if (!c.m.pcc) {
        if (out_of_budget()) break;
        c.m.pcc = m_.ttnn_pcc(c.hw, *c.tree);
        trials_[c.trial].pcc = c.m.pcc;
      }
      ++m_.stats().accuracy_checks;
      if (*c.m.pcc < o_.min_pcc) {
        ++m_.stats().rejected_accuracy;
        continue;
      }
      inc = c.m;
      won_s = c.m.time_s;
      current = c.config;
      cur_hw = c.hw;
      cur_tree = c.tree;
      trials_[c.trial].won = true;
      winners = with_winner(winners, Winner{rec.key, o_.mode, op.config, c.config, op.shape.kind == OpKind::kv_cache});
      report(op.path, axis.name, rec.start_s, inc.time_s);
      break;
    }
    if (m_.stats().budget_exhausted) break;
  }
  if (!measured_inc) rec.start_s = inc.time_s = m_.measure(cur_hw, *cur_tree, op.path, false).time_s;
  rec.tuned = current;
  rec.tuned_s = won_s.value_or(rec.start_s);
  rec.changes = config_changes(rec.start, rec.tuned);
  return rec;
}

TuneResult Tuner::run() {
  TuneResult result;
  const std::shared_ptr<Transformer> start_tree = m_.evaluator().spec_tree(start_);
  const ModuleHardwareConfig start_hw = hw_of({});
  const std::vector<ResolvedOp> ops = ops_to_tune(*start_tree);
  Measure m0;
  if (device_.is_ttnn()) m0 = m_.measure(start_hw, *start_tree, "", true);

  std::vector<Winner> winners;
  for (const ResolvedOp& op : ops) {
    if (out_of_budget()) break;
    result.ops.push_back(tune_op(op, winners));
    ++m_.stats().ops_tuned;
  }
  const ModuleHardwareConfig final_hw = hw_of(winners);
  const std::shared_ptr<Transformer> final_tree = m_.evaluator().spec_tree(final_hw);
  Measure mf;
  if (device_.is_ttnn()) {
    mf = m_.measure(final_hw, *final_tree, "", true);
  } else {
    // The start and the result measured together.
    const std::vector<HostRun> runs = m_.host_runs({{&start_hw, start_tree.get()}, {&final_hw, final_tree.get()}});
    m0 = host_measure(runs[0], tree_totals(*start_tree, o_.mode), "");
    mf = host_measure(runs[1], tree_totals(*final_tree, o_.mode), "");
  }
  result.start_step_s = m0.time_s;
  result.start_pcc = m0.pcc.value_or(0.0);
  result.tuned_step_s = mf.time_s;
  result.tuned_pcc = mf.pcc.value_or(0.0);
  TuneStats& st = m_.stats();
  st.elapsed_s = m_.elapsed_s();
  const bool ttnn = device_.is_ttnn();
  std::vector<std::string> comment = {
      fmt::format("ttt tune: {} on {}, {}, target {}, min PCC {}; tuned on {} layer(s), winners apply to every layer",
                  o_.spec.name, o_.device, to_string(o_.mode), to_string(o_.target), o_.min_pcc, spec_.num_layers),
      fmt::format("step of the tuned model ({}): start {:.1f} us, PCC {:.5f}; tuned {:.1f} us, PCC {:.5f}",
                  ttnn ? "cost model" : "measured", result.start_step_s * 1e6, result.start_pcc,
                  result.tuned_step_s * 1e6, result.tuned_pcc),
      fmt::format("candidates: {} proposed, {} refused by validation, {} measured, {} below min PCC; cache {} hits, "
                  "{} misses{}",
                  st.proposed, st.rejected_invalid, st.measured, st.rejected_accuracy, st.cache_hits, st.cache_misses,
                  st.budget_exhausted ? "; stopped by the time budget" : "")};
  result.yaml = render_yaml(start_, winners, comment);
  result.tuned = load_rendered(result.yaml, start_);
  result.stats = st;
  result.trials = std::move(trials_);
  return result;
}

}  // namespace

TuneResult tune(const TuneOptions& options) {
  check_options(options);
  Tuner t(options);
  return t.run();
}

std::string check_candidate(const TransformerSpec& spec, const ModuleHardwareConfig& hw, const std::string& path,
                            Mode mode, const OpConfig& candidate) {
  ModuleHardwareConfig start = hw;
  std::vector<ResolvedOp> storage;
  try {
    auto device = Device::open(hw.device.empty() ? "cpu" : hw.device);
    start.device = device->name();
    const Transformer base(spec, device, start);
    const ResolvedOp& op = find_op(base, mode, path, storage);
    const Winner w{override_key(path), mode, op.config, candidate, op.shape.kind == OpKind::kv_cache};
    const ModuleHardwareConfig with = load_rendered(render_yaml(start, {w}, {}), start);
    const Transformer tree(spec, device, with);
    if (!(find_op(tree, mode, path, storage).config == candidate)) return "the file does not reproduce the candidate";
  } catch (const Error& e) {
    return e.detail();
  }
  return "";
}

std::vector<ConfigEvaluation> evaluate_configs(const TuneOptions& o,
                                               const std::vector<std::pair<std::string, ModuleHardwareConfig>>& configs,
                                               int64_t eval_layers, int rounds) {
  check_options(o);
  TransformerSpec spec = o.spec;
  spec.num_layers = std::min(spec.num_layers, o.layers);
  Measurer m(o, spec);
  Evaluator& ev = m.evaluator();
  const bool ttnn = ev.device().spec().is_ttnn();
  std::vector<ConfigEvaluation> out;
  std::vector<std::unique_ptr<Transformer>> models;
  std::vector<ModuleHardwareConfig> hws;
  for (const auto& [name, cfg] : configs) {
    ModuleHardwareConfig hw = cfg;
    hw.device = o.device;
    ConfigEvaluation e;
    e.name = name;
    const auto tree = ev.spec_tree(hw);
    e.pcc = m.measure(hw, *tree, "", true).pcc.value_or(0.0);
    // The whole model's time and bytes (ttnn), or the timed model's (cpu).
    const int64_t depth = ttnn ? (eval_layers > 0 ? eval_layers : o.spec.num_layers) : (eval_layers > 0 ? eval_layers : o.layers);
    const auto full = ev.spec_tree(hw, depth);
    const TreeTotals t = tree_totals(*full, o.mode);
    e.token_s = t.step_s;
    e.weight_bytes = t.weight_bytes;
    if (!ttnn) models.push_back(ev.model(hw, depth));
    hws.push_back(hw);
    out.push_back(e);
  }
  if (ttnn) return out;
  // Host: the configs take turns, a few steps each per round (at least min_timed_s of them);
  // the median step counts. Decode steps decode one position again and again.
  const ModuleShapes& s = o.start.shapes;
  const int steps = std::max(1, o.timing_steps);
  std::vector<std::vector<double>> times(models.size());
  for (auto& model : models) {
    if (o.mode == Mode::decode) model->compile_decode(DecodeShape{s.decode_batch, s.cache_len});
    else model->compile(PrefillShape{s.prefill_batch, s.prefill_seq});
  }
  const int32_t token = static_cast<int32_t>(std::min<int64_t>(5, spec.embedding.vocab_size - 1));
  const int32_t position = static_cast<int32_t>(std::min<int64_t>(o.tokens, s.cache_len - 1));
  std::vector<int32_t> ids(static_cast<std::size_t>(o.mode == Mode::decode ? s.decode_batch
                                                                            : s.prefill_batch * s.prefill_seq),
                           token);
  std::vector<int32_t> positions(static_cast<std::size_t>(s.decode_batch), position);
  for (int r = 0; r < rounds + 1; ++r) {
    for (std::size_t i = 0; i < models.size(); ++i) {
      double total = 0;
      for (int k = 0; k < 1000 && (k < steps || total < o.min_timed_s); ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        if (o.mode == Mode::decode) models[i]->forward_decode(ids, positions);
        else models[i]->forward_prefill(ids, s.prefill_batch);
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        total += dt;
        if (r > 0) times[i].push_back(dt);  // round 0 warms up
      }
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::vector<double>& v = times[i];
    std::sort(v.begin(), v.end());
    out[i].token_s = v.empty() ? 0 : v[v.size() / 2];
    out[i].measured = true;
  }
  return out;
}

}  // namespace ttt
