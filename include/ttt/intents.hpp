// Intent-level op settings: the seed's declarative form ("precision: high", "memory: L1",
// "tiling: aggressive", "optimization_target: latency" under an op's key in a hardware
// config file). Each resolves to concrete OpConfig fields through the table of the
// device it runs on; `ttt config intents --device D` prints that table, and
// docs/hardware_config.md holds it for every device.
//
// precision, memory: apply_precision_intent / apply_memory_intent (ttt/op_defaults.hpp).
// tiling: in the module's YAML resolution (src/modules/module.cpp).
// optimization_target: apply_target_intent below.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ttt/hardware_config.hpp"
#include "ttt/op_defaults.hpp"

namespace ttt {

// The op-level optimization target: the fields that the target's column of the device's
// precision table decides, taken from the module default under that target: weights
// dtype, compute kernel config, the KV cache's dtype and the output placement. The
// program config stays (its output subblocks shrink when fp32 accumulation needs it).
void apply_target_intent(OpConfig& cfg, OptimizationTarget target, const OpShape& shape, Mode mode,
                         const DeviceSpec& device);

// Every intent key and value an op accepts, in the order the tables list them:
// {"precision", "high"}, ..., {"optimization_target", "balanced"}.
struct Intent {
  std::string key;
  std::string value;
  std::string yaml() const { return "{" + key + ": " + value + "}"; }
};
std::vector<Intent> all_intents();

}  // namespace ttt
