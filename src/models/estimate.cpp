#include "ttt/models/estimate.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include "ttt/error.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

// "layers.12.mlp.ff2_matmul" -> ("layers.*.mlp.ff2_matmul", 12); other paths -> (path, -1).
std::pair<std::string, int64_t> layer_key(const std::string& path) {
  constexpr std::string_view kPrefix = "layers.";
  if (path.rfind(kPrefix, 0) != 0) return {path, -1};
  std::size_t end = kPrefix.size();
  while (end < path.size() && std::isdigit(static_cast<unsigned char>(path[end]))) ++end;
  if (end == kPrefix.size() || end >= path.size() || path[end] != '.') return {path, -1};
  return {"layers.*" + path.substr(end), std::stoll(path.substr(kPrefix.size(), end - kPrefix.size()))};
}

nlohmann::json cost_json(const Cost& c) {
  return {
      {"total_s", c.total_s()},         {"compute_s", c.compute_s},   {"dram_s", c.dram_s},           {"l1_s", c.l1_s},
      {"collective_s", c.collective_s}, {"dispatch_s", c.dispatch_s}, {"bound", to_string(c.bound())}};
}

nlohmann::json mode_json(const ModeEstimate& m) {
  nlohmann::json ops = nlohmann::json::array();
  for (const OpEstimate& o : m.by_op) {
    nlohmann::json j = cost_json(o.cost);
    j["path"] = o.path;
    j["calls"] = o.calls;
    ops.push_back(std::move(j));
  }
  nlohmann::json bounds = nlohmann::json::object();
  for (const auto& [b, s] : m.by_bound) bounds[std::string(to_string(b))] = s;
  return {{"step_s", m.step_s},
          {"time_by_bound_s", std::move(bounds)},
          {"ops_per_step", m.ops},
          {"terms", cost_json(m.total)},
          {"layer_s", m.layer_s},
          {"bottleneck",
           {{"path", m.bottleneck.path},
            {"time_s", m.bottleneck.time_s()},
            {"bound", to_string(m.bottleneck.cost.bound())},
            {"kind", bound_str(m.bottleneck.cost.bound())}}},
          {"ops", std::move(ops)}};
}

}  // namespace

std::string bound_str(CostBound b) {
  switch (b) {
    case CostBound::COMPUTE:
      return "compute-bound";
    case CostBound::DRAM:
      return "bandwidth-bound (DRAM)";
    case CostBound::L1:
      return "bandwidth-bound (L1)";
    case CostBound::COLLECTIVE:
      return "collective-bound";
    case CostBound::DISPATCH:
      return "dispatch-bound";
  }
  return "?";
}

ModeEstimate estimate_mode(const Module& root, Mode mode) {
  ModeEstimate m;
  m.mode = mode;
  std::map<std::string, std::size_t> index;
  for (const ResolvedOp& r : root.all_ops(mode)) {
    const auto [key, layer] = layer_key(r.path);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, m.by_op.size()).first;
      m.by_op.push_back(OpEstimate{key, 0, {}});
    }
    OpEstimate& o = m.by_op[it->second];
    ++o.calls;
    o.cost += r.cost;
    m.total += r.cost;
    m.step_s += r.cost.total_s();
    m.by_bound[r.cost.bound()] += r.cost.total_s();
    ++m.ops;
    if (layer >= 0) {
      if (static_cast<std::size_t>(layer) >= m.layer_s.size())
        m.layer_s.resize(static_cast<std::size_t>(layer) + 1, 0.0);
      m.layer_s[static_cast<std::size_t>(layer)] += r.cost.total_s();
    }
  }
  const auto worst = std::max_element(m.by_op.begin(), m.by_op.end(),
                                      [](const OpEstimate& a, const OpEstimate& b) { return a.time_s() < b.time_s(); });
  if (worst != m.by_op.end()) m.bottleneck = *worst;
  return m;
}

ModelEstimate estimate_model(const TransformerSpec& spec, ModuleHardwareConfig hw, const EstimateOptions& options) {
  TTT_CHECK(options.batch > 0 && options.prompt_len > 0 && options.gen_len >= 0, InvalidConfig,
            "estimate: batch {} and prompt length {} must be positive and the generated length {} not negative",
            options.batch, options.prompt_len, options.gen_len);
  hw.shapes.prefill_batch = options.batch;
  hw.shapes.prefill_seq = options.prompt_len;
  hw.shapes.decode_batch = options.batch;
  hw.shapes.cache_len = (options.prompt_len + options.gen_len + 31) / 32 * 32;
  const auto device = Device::open(hw.device.empty() ? "cpu" : hw.device);
  const Transformer model(spec, device, hw);
  ModelEstimate e;
  e.model = spec.name;
  e.device = device->name();
  e.chips = device->spec().mesh.chips();
  for (Mode mode : enum_values<Mode>())
    for (const ResolvedOp& r : model.all_ops(mode))
      e.tensor_parallel = e.tensor_parallel || (e.chips > 1 && r.config.sharding != ChipSplit::REPLICATED);
  e.target = model.hw_config().optimization_target;
  e.num_layers = spec.num_layers;
  e.shapes = model.hw_config().shapes;
  e.prefill = estimate_mode(model, Mode::prefill);
  e.decode = estimate_mode(model, Mode::decode);
  e.ttft_s = e.prefill.step_s;
  e.decode_tok_s_user = e.decode.step_s > 0 ? 1.0 / e.decode.step_s : 0.0;
  e.decode_tok_s = e.decode_tok_s_user * static_cast<double>(e.shapes.decode_batch);
  e.memory = plan_memory(model);
  return e;
}

std::string ModelEstimate::json() const {
  nlohmann::json weights = nlohmann::json::object();
  for (const auto& [dt, b] : memory.weights_by_dtype) weights[std::string(to_string(dt))] = b;
  const nlohmann::json j = {{"model", model},
                            {"device", device},
                            {"chips", chips},
                            {"tensor_parallel", tensor_parallel},
                            {"optimization_target", to_string(target)},
                            {"layers", num_layers},
                            {"batch", shapes.decode_batch},
                            {"prompt_len", shapes.prefill_seq},
                            {"kv_cache_len", shapes.cache_len},
                            {"ttft_s", ttft_s},
                            {"decode_step_s", decode.step_s},
                            {"decode_tok_s_user", decode_tok_s_user},
                            {"decode_tok_s", decode_tok_s},
                            {"prefill", mode_json(prefill)},
                            {"decode", mode_json(decode)},
                            {"memory_per_chip",
                             {{"dram_needed", memory.dram_needed()},
                              {"dram_available", memory.dram_per_chip},
                              {"fits", memory.fits()},
                              {"weights", memory.weights},
                              {"weights_by_dtype", weights},
                              {"kv_cache", memory.kv_cache},
                              {"activations_dram", memory.activations_dram},
                              {"activations_l1", memory.activations_l1},
                              {"l1_may_fit", memory.l1_may_fit()},
                              {"l1_available", memory.l1_per_chip}}}};
  return j.dump(2) + "\n";
}

}  // namespace ttt
