#include "ttt/intents.hpp"

#include <algorithm>

namespace ttt {

void apply_target_intent(OpConfig& cfg, OptimizationTarget target, const OpShape& shape, Mode mode,
                         const DeviceSpec& device) {
  const OpConfig d = module_default_config(cfg.op_name, shape, mode, target, device);
  cfg.weights_dtype = d.weights_dtype;
  cfg.compute_kernel_config = d.compute_kernel_config;
  cfg.memory_config = d.memory_config;
  if (shape.kind == OpKind::kv_cache) cfg.dtype = d.dtype;
  // fp32 accumulation halves the destination tiles a matmul subblock may use.
  const int limit = cfg.compute_kernel_config.fp32_dest_acc_en ? 4 : 8;
  std::visit(
      [&](auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, Matmul2DConfig> || std::is_same_v<K, Matmul1DConfig> ||
                      std::is_same_v<K, MatmulReuseConfig>) {
          while (k.out_subblock_h * k.out_subblock_w > limit) {
            int w = std::max(1, k.out_subblock_w - 1);
            while (w > 1 && k.per_core_N % w != 0) --w;
            if (w == k.out_subblock_w) break;
            k.out_subblock_w = w;
          }
        }
      },
      cfg.kernel_config);
}

std::vector<Intent> all_intents() {
  std::vector<Intent> out;
  for (Precision p : enum_values<Precision>()) out.push_back({"precision", std::string(to_string(p))});
  for (BufferType b : {BufferType::L1, BufferType::DRAM}) out.push_back({"memory", std::string(to_string(b))});
  for (const char* t : {"aggressive", "conservative"}) out.push_back({"tiling", t});
  for (OptimizationTarget t : enum_values<OptimizationTarget>())
    out.push_back({"optimization_target", std::string(to_string(t))});
  return out;
}

}  // namespace ttt
