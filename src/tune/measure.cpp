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
  const ModelRun run = ev_.run(*model, hw, 0, false);
  const double p = ev_.pcc(run.logits);
  cache_.put(key, {{"pcc", p}});
  return p;
}

HostRun Measurer::host_run(const ModuleHardwareConfig& hw, const Transformer& tree) {
  const std::string key = key_of(fmt::format("{}|host|{}", ev_.context(), config_text(tree, o_.mode)));
  HostRun r;
  if (const auto hit = cache_.get(key)) {
    ++stats_.cache_hits;
    r.pcc = hit->at("pcc").get<double>();
    r.step_s = hit->at("step_s").get<double>();
    r.module_s = hit->at("module_s").get<std::map<std::string, double>>();
    return r;
  }
  ++stats_.cache_misses;
  auto model = ev_.model(hw);
  if (!warmed_up_) {
    // The first run of a process pays for page faults, thread start-up and clock ramps.
    ev_.run(*model, hw, std::max(1, o_.timing_steps), true);
    warmed_up_ = true;
  }
  const ModelRun run = ev_.run(*model, hw, std::max(1, o_.timing_steps), true);
  r.pcc = ev_.pcc(run.logits);
  r.step_s = median(run.step_s);
  std::map<std::string, std::vector<double>> per_module;
  for (const auto& step : run.op_s) {
    std::map<std::string, double> sums;
    for (const auto& [path, s] : step) sums[parent_of(path)] += s;
    for (const auto& [m, s] : sums) per_module[m].push_back(s);
  }
  for (auto& [m, v] : per_module) r.module_s[m] = median(v);
  cache_.put(key, {{"pcc", r.pcc}, {"step_s", r.step_s}, {"module_s", r.module_s}});
  return r;
}

Measure Measurer::measure(const ModuleHardwareConfig& hw, const Transformer& tree, const std::string& op_path,
                          bool need_pcc) {
  const TreeTotals t = tree_totals(tree, o_.mode);
  Measure m;
  m.bytes = t.bytes;
  if (tree.device().spec().is_ttnn()) {
    m.time_s = t.step_s;
    if (need_pcc) m.pcc = ttnn_pcc(hw, tree);
    return m;
  }
  const HostRun r = host_run(hw, tree);
  m.pcc = r.pcc;
  if (op_path.empty()) {
    m.time_s = r.step_s;
  } else {
    const auto it = r.module_s.find(parent_of(op_path));
    m.time_s = it == r.module_s.end() ? 0.0 : it->second;
  }
  return m;
}

}  // namespace ttt::tune_detail
