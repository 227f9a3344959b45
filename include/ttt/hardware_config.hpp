// ModuleHardwareConfig: the hardware configuration of a module tree (the seed's
// ModuleHardwareConfig). Op configs resolve in this order, first hit wins:
//   1. an override given in code (op_configs, override_op_config) or read from YAML;
//   2. the module's default for the device, mode and optimization target;
//   3. the device's generic default.
// Overrides are addressed by op path: "qkv_matmul" (every module's op of that name),
// "attention.qkv_matmul", "layers.0-3.mlp.ff1_matmul", "layers.*.attention.wo_matmul",
// optionally prefixed by a mode: "decode.qkv_matmul". A longer (more specific) key wins
// over a shorter one; between equally specific keys the later one wins.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "ttt/enum.hpp"
#include "ttt/op_config.hpp"

namespace ttt {

TTT_ENUM(OptimizationTarget, latency, memory, balanced)
TTT_ENUM(CachePolicy, always, never, auto_)
TTT_ENUM(Mode, prefill, decode)
TTT_ENUM(ConfigSource, device_default, module_default, code, yaml)

// A partial override read from YAML: only the keys written in the file change the
// resolved config; the rest keeps the default. Intent-level keys (precision, memory)
// are applied first, low-level fields after them.
struct OpOverride {
  std::string key;   // path pattern as written
  // The mapping under the key. Held through a pointer: assigning one YAML::Node to
  // another writes into the node it refers to, so copies of a config would overwrite
  // each other's overrides.
  std::shared_ptr<const YAML::Node> fields;
  std::string file;  // where it came from, for messages
  int line = 0;
};

// The batch and sequence sizes a module resolves and validates its configs for: at
// construction ModuleHardwareConfig::shapes (nominal unless set), at compile the real ones.
struct ModuleShapes {
  int64_t prefill_batch = 1;
  int64_t prefill_seq = 128;
  int64_t decode_batch = 1;
  int64_t cache_len = 128;  // keys attended in decode
  bool operator==(const ModuleShapes&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("prefill_batch", s.prefill_batch);
    v("prefill_seq", s.prefill_seq);
    v("decode_batch", s.decode_batch);
    v("cache_len", s.cache_len);
  }
};

struct ModuleHardwareConfig {
  std::string device;  // empty: the device of the module it configures
  OptimizationTarget optimization_target = OptimizationTarget::balanced;
  // Whole-config overrides by op path, given in code.
  std::map<std::string, OpConfig> op_configs;
  // Partial overrides read from YAML, in file order.
  std::vector<OpOverride> yaml_overrides;
  // Format converted weights are cached in when an op config names none (the seed's
  // weight_cache_dtype); unset: the device default for each op.
  std::optional<DataType> weight_cache_dtype;
  CachePolicy activation_cache_policy = CachePolicy::auto_;
  std::optional<std::string> cache_dir;  // weight cache directory; unset: $XDG_CACHE_HOME/ttt or ~/.cache/ttt
  // Shapes the configs are validated for at construction (a config valid only for the
  // real shapes, such as an SDPA chunk of a long cache, needs them); compile() re-resolves.
  ModuleShapes shapes;

  ModuleHardwareConfig() = default;
  explicit ModuleHardwareConfig(std::string device_name) : device(std::move(device_name)) {}

  // The seed's get_op_config: the code override for this op path, if any.
  const OpConfig* get_op_config(std::string_view path) const;

  // Reads the seed's declarative form:
  //   optimization_target: latency
  //   weight_cache_dtype: BFLOAT8_B          (optional)
  //   activation_cache_policy: auto          (optional)
  //   shapes: {prefill_batch: 1, prefill_seq: 2048, decode_batch: 32, cache_len: 4096}   (optional)
  //   ops:
  //     qkv_matmul: {precision: high, memory: L1}
  //     layers.0-3.mlp.ff1_matmul: {weights_dtype: BFLOAT4_B, compute_kernel_config: {math_fidelity: LoFi}}
  static ModuleHardwareConfig from_yaml_file(const std::string& path, std::string device = "");
  static ModuleHardwareConfig from_yaml_string(const std::string& text, std::string device = "",
                                               const std::string& file = "<string>");
};

// Does the override key match this op path ("layers.3.attention.qkv_matmul") in this
// mode? Returns the key's specificity (segments matched, +1 with a mode prefix), or -1.
int match_op_path(std::string_view key, std::string_view path, Mode mode);

}  // namespace ttt
