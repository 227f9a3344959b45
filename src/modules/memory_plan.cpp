#include "ttt/modules/memory_plan.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "ttt/activation_arena.hpp"
#include "ttt/device.hpp"
#include "ttt/modules/module.hpp"

namespace ttt {
namespace {

std::string gib(int64_t bytes) {
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

// MiB below a GiB, else GiB.
std::string mib(int64_t bytes) {
  if (bytes >= 1024LL * 1024 * 1024) return gib(bytes);
  return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1024.0 * 1024));
}


bool is_mlp_weight(const ResolvedOp& r) {
  return r.shape.kind == OpKind::matmul && (r.shape.group == TensorGroup::FF1_FF3 || r.shape.group == TensorGroup::FF2);
}

// What the MLP weights would take stored as bfloat4_b (tiles scale with the format).
int64_t mlp_weights_as_bfp4(const std::vector<const ResolvedOp*>& weighted) {
  double bytes = 0;
  for (const ResolvedOp* r : weighted) {
    if (!is_mlp_weight(*r)) continue;
    const DataType dt = r->config.weights_dtype.value_or(DataType::BFLOAT16);
    bytes += static_cast<double>(r->weight_bytes) * static_cast<double>(tile_bytes(DataType::BFLOAT4_B)) /
             static_cast<double>(tile_bytes(dt));
  }
  return static_cast<int64_t>(bytes);
}

}  // namespace

MemoryPlan plan_memory(const Module& root) {
  const DeviceSpec& d = root.device().spec();
  MemoryPlan p;
  p.device = d.name;
  p.chips = d.mesh.chips();
  p.dram_per_chip = d.dram_per_chip;
  p.l1_per_chip = d.l1_usable() * d.cores_per_chip();
  const std::vector<ResolvedOp> prefill = root.all_ops(Mode::prefill);
  const std::vector<ResolvedOp> decode = root.all_ops(Mode::decode);
  // Weights once per op path: decode's copy, else prefill's (both modes share one copy).
  std::map<std::string, const ResolvedOp*> weighted;
  for (const auto* ops : {&prefill, &decode})
    for (const ResolvedOp& r : *ops)
      if (r.weight_bytes > 0) weighted[r.path] = &r;
  std::vector<const ResolvedOp*> list;
  for (const auto& [path, r] : weighted) {
    p.weights += r->weight_bytes;
    p.weights_by_dtype[r->config.weights_dtype.value_or(DataType::BFLOAT16)] += r->weight_bytes;
    if (is_mlp_weight(*r)) p.mlp_weights += r->weight_bytes;
    if (r->shape.kind != OpKind::matmul) p.whole_weights += r->weight_bytes;
    list.push_back(r);
  }
  p.mlp_weights_bfp4 = mlp_weights_as_bfp4(list);
  for (const auto* ops : {&prefill, &decode}) {
    const bool dec = ops == &decode;
    // The layers share their buffers (activation_arena.hpp): one layer's count.
    std::set<std::string> counted;
    for (const ResolvedOp& r : *ops) {
      if (r.shape.kind == OpKind::kv_cache) {
        // The caches are decode buffers; prefill writes into them.
        if (dec) p.kv_cache += r.output_bytes;
        continue;
      }
      if (!counted.insert(layer_shared_key(r.path)).second) continue;
      (r.config.memory_config.buffer_type == BufferType::L1 ? p.activations_l1 : p.activations_dram) += r.output_bytes;
    }
  }
  return p;
}

std::string memory_problem(const MemoryPlan& p) {
  if (p.fits()) return {};
  const int64_t need = p.dram_needed();
  std::string weights;
  for (const auto& [dt, b] : p.weights_by_dtype)
    weights += fmt::format("{}{} {}", weights.empty() ? "" : ", ", short_name(dt), gib(b));
  std::string msg = fmt::format(
      "memory: needs {} ({} bytes) of DRAM per chip but {} has {} ({} bytes) per chip ({} chip{}): weights {} ({}), "
      "KV cache {}, activation buffers in DRAM {}",
      gib(need), need, p.device, gib(p.dram_per_chip), p.dram_per_chip, p.chips, p.chips == 1 ? "" : "s",
      gib(p.weights), weights, mib(p.kv_cache), mib(p.activations_dram));

  // A larger mesh: each chip holds its share of the matmul weights and KV cache (about
  // 1/chips of the whole, the tensor-parallel split) and the embedding and norms whole;
  // activation buffers are counted whole, so the figure errs high. Meshes are listed up
  // to the first that fits.
  std::vector<DeviceSpec> specs;
  for (const std::string& name : Device::known_names())
    if (name != "cpu") specs.push_back(Device::spec_for(name));
  std::stable_sort(specs.begin(), specs.end(),
                   [](const DeviceSpec& a, const DeviceSpec& b) { return a.mesh.chips() < b.mesh.chips(); });
  std::vector<std::string> meshes;
  bool mesh_fits = false;
  for (const DeviceSpec& s : specs) {
    if (s.mesh.chips() <= p.chips || mesh_fits) continue;
    const double split = static_cast<double>(p.weights - p.whole_weights + p.kv_cache) * p.chips / s.mesh.chips();
    const auto per_chip = static_cast<int64_t>(split) + p.whole_weights + p.activations_dram;
    mesh_fits = per_chip <= s.dram_per_chip;
    meshes.push_back(fmt::format("{} ({} chips) about {} per chip{}", s.name, s.mesh.chips(), gib(per_chip),
                                 mesh_fits ? ", which fits" : ""));
  }
  std::vector<std::string> suggestions;
  for (const DeviceSpec& s : specs)
    if (s.mesh.chips() == p.chips && s.dram_per_chip >= need && s.name != p.device)
      suggestions.push_back(fmt::format("run it on {}, which has {} per chip", s.name, gib(s.dram_per_chip)));
  if (!meshes.empty())
    suggestions.push_back(fmt::format(
        "run it on a larger mesh, which splits the weights and KV cache over its chips: {}", fmt::join(meshes, ", ")));
  if (p.mlp_weights_bfp4 < p.mlp_weights) {
    const int64_t with_bfp4 = need - p.mlp_weights + p.mlp_weights_bfp4;
    suggestions.push_back(fmt::format(
        "store the MLP weights in bfloat4_b (optimization_target: memory, or weights_dtype: BFLOAT4_B on ff1_matmul, "
        "ff3_matmul and ff2_matmul): {} per chip{}",
        gib(with_bfp4), with_bfp4 <= p.dram_per_chip ? ", which fits" : ", still short"));
  }
  if (p.kv_cache > p.dram_per_chip / 8)
    suggestions.push_back("fewer users or a shorter KV cache (decode batch, cache length)");
  if (p.activations_dram > p.dram_per_chip / 8)
    suggestions.push_back(
        "a shorter prefill (prefill batch x sequence length): one layer's op outputs are held for each mode");
  if (!suggestions.empty()) msg += "; " + fmt::format("{}", fmt::join(suggestions, "; or "));
  return msg;
}

void check_memory(const Module& root, ValidationReport& report) {
  if (!root.device().spec().is_ttnn()) return;
  const std::string problem = memory_problem(plan_memory(root));
  if (!problem.empty()) report.add_line(fmt::format("{}: {}", root.path().empty() ? "<root>" : root.path(), problem));
}

}  // namespace ttt
