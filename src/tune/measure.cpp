#include "tune/measure.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/fields.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::tune_detail {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::filesystem::path cache_file(const TuneOptions& o) {
  if (!o.use_cache) return {};
  if (o.cache_dir) return std::filesystem::path(*o.cache_dir) / "results.json";
  return resolve_cache_dir(o.start.cache_dir, CacheEnv::from_process()) / "tune" / "results.json";
}

// What an emulated run computes depends on each op's formats, math and (for the ops
// other than matmuls) program config; a matmul's program config and any op's placement
// do not change its values.
std::string numerics_text(const Transformer& tree, Mode mode) {
  std::string out;
  for (const ResolvedOp& r : tree.all_ops(mode)) {
    const OpConfig& c = r.config;
    out += fmt::format("{}:{}:{}:{}:{}:{}", r.path, to_string(c.dtype), to_string(c.layout), field_str(c.weights_dtype),
                       field_str(c.compute_kernel_config), to_string(c.sharding));
    if (r.shape.kind != OpKind::matmul) out += fmt::format(":{}", field_str(c.kernel_config));
    out.push_back(';');
  }
  return out;
}

std::string config_text(const Transformer& tree, Mode mode) {
  std::string out;
  for (const ResolvedOp& r : tree.all_ops(mode)) out += fmt::format("{}:{};", r.path, fields_str(r.config));
  return out;
}

}  // namespace

std::string parent_of(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

Measurer::Measurer(const TuneOptions& options, TransformerSpec spec)
    : o_(options), ev_(options, std::move(spec)), cache_(cache_file(options)) {}

double Measurer::ttnn_pcc(const ModuleHardwareConfig& hw, const Transformer& tree) {
  const std::string key = key_of(fmt::format("{}|pcc|{}", ev_.context(), numerics_text(tree, o_.mode)));
  if (const auto hit = cache_.get(key)) {
    ++stats_.cache_hits;
    return hit->at("pcc").get<double>();
  }
  ++stats_.cache_misses;
  auto model = ev_.model(hw);
  const double p = ev_.pcc(ev_.start(*model, hw));
  cache_.put(key, {{"pcc", p}});
  return p;
}

std::vector<HostRun> Measurer::host_runs(const std::vector<HostConfig>& configs) {
  std::string text = ev_.context() + "|host";
  for (const HostConfig& c : configs) text += fmt::format("|{}", config_text(*c.tree, o_.mode));
  const std::string key = key_of(text);
  std::vector<HostRun> out(configs.size());
  if (const auto hit = cache_.get(key)) {
    ++stats_.cache_hits;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const nlohmann::json& j = hit->at("runs").at(i);
      out[i].pcc = j.at("pcc").get<double>();
      out[i].step_s = j.at("step_s").get<double>();
      out[i].module_s = j.at("module_s").get<std::map<std::string, double>>();
    }
    return out;
  }
  ++stats_.cache_misses;
  // Every config is built and started, then they take turns, a few steps each per round:
  // a change in the machine's load between two configs' measurements would otherwise
  // read as a difference between them.
  std::vector<std::unique_ptr<Transformer>> models;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    models.push_back(ev_.model(*configs[i].hw));
    out[i].pcc = ev_.pcc(ev_.start(*models.back(), *configs[i].hw));
  }
  const int rounds = std::max(1, o_.timing_steps);
  const double per_round_s = o_.min_timed_s / rounds;
  std::vector<std::map<std::string, std::vector<double>>> per_module(configs.size());
  std::vector<std::vector<double>> steps(configs.size());
  // Round 0 warms up (page faults of the fresh buffers; the first run of a process also
  // starts threads and ramps clocks).
  for (int r = warmed_up_ ? 0 : -1; r <= rounds; ++r) {
    for (std::size_t i = 0; i < configs.size(); ++i) {
      ModelRun run;
      double total = 0;
      for (int k = 0; k < 100 && (k == 0 || total < per_round_s); ++k) {
        ev_.timed_step(*models[i], *configs[i].hw, true, run);
        total += run.step_s.back();
      }
      if (r <= 0) continue;
      const double n = static_cast<double>(run.step_s.size());
      std::map<std::string, double> sums;
      for (const auto& step : run.op_s)
        for (const auto& [path, sec] : step) sums[parent_of(path)] += sec / n;
      for (const auto& [m, sec] : sums) per_module[i][m].push_back(sec);
      steps[i].push_back(total / n);
    }
  }
  warmed_up_ = true;
  nlohmann::json runs = nlohmann::json::array();
  for (std::size_t i = 0; i < configs.size(); ++i) {
    out[i].step_s = median(steps[i]);
    for (auto& [m, v] : per_module[i]) out[i].module_s[m] = median(v);
    runs.push_back({{"pcc", out[i].pcc}, {"step_s", out[i].step_s}, {"module_s", out[i].module_s}});
  }
  cache_.put(key, {{"runs", runs}});
  return out;
}

Measure host_measure(const HostRun& r, const TreeTotals& totals, const std::string& op_path) {
  Measure m;
  m.bytes = totals.bytes;
  m.pcc = r.pcc;
  if (op_path.empty()) {
    m.time_s = r.step_s;
  } else {
    const auto it = r.module_s.find(parent_of(op_path));
    m.time_s = it == r.module_s.end() ? 0.0 : it->second;
  }
  return m;
}

Measure Measurer::measure(const ModuleHardwareConfig& hw, const Transformer& tree, const std::string& op_path,
                          bool need_pcc) {
  const TreeTotals t = tree_totals(tree, o_.mode);
  if (tree.device().spec().is_ttnn()) {
    Measure m;
    m.bytes = t.bytes;
    m.time_s = t.step_s;
    if (need_pcc) m.pcc = ttnn_pcc(hw, tree);
    return m;
  }
  return host_measure(host_runs({{&hw, &tree}}).front(), t, op_path);
}

}  // namespace ttt::tune_detail
