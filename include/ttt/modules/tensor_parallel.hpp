// Tensor parallelism on multi-chip devices (ttnn:n300, ttnn:t3k, ttnn:galaxy): how a
// module splits its work over the chips, as tt-transformers does. Attention splits its
// heads (qkv_matmul COLUMN, out_matmul ROW, then an all_reduce of the partial outputs),
// the MLP its intermediate columns (ff1/ff3 COLUMN, ff2 ROW, all_reduce), the LM head
// the vocabulary (COLUMN, then an all_gather). Each chip holds only its share of the
// weights (one cached tensor per chip) and of the KV cache; module inputs and outputs
// are replicated. A module's first matmul decides: its config's sharding (default: the
// split when the shapes allow it) and the other ops must agree.
#pragma once

#include <cstdint>
#include <string>

#include "ttt/hardware_config.hpp"
#include "ttt/modules/module.hpp"
#include "ttt/op_defaults.hpp"

namespace ttt {

// Heads per chip: each chip takes q_heads consecutive query heads and the kv_heads
// their groups read (KV heads are repeated on several chips when there are fewer KV
// heads than chips).
struct HeadSplit {
  int ways = 1;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  int64_t group = 1;      // query heads per KV head
  std::string why_not;    // why the heads cannot split over the chips ("" when they can)
  int64_t q_begin(int chip) const { return chip * q_heads; }
  int64_t kv_begin(int chip) const { return q_begin(chip) / group; }
};
HeadSplit split_heads(int64_t heads, int64_t kv_heads, int chips);

// Equal shares of n over `ways` chips (the last shares padded with zeros).
inline int64_t share_of(int64_t n, int ways) { return (n + ways - 1) / ways; }

// "" on one chip, "@chip3" when split: per-chip activation names.
std::string chip_suffix(int chip, int ways);
// "<name>.chip3of8" when split: per-chip weight names (separate cached tensors).
std::string shard_name(const std::string& name, int chip, int ways);

// The ways a module splits over: `possible` (1 when it cannot split) unless the config
// of its deciding op (`path`, `name`, resolved for decode at `shape`) asks for REPLICATED.
int requested_ways(const std::string& path, const std::string& name, OpShape shape, ChipSplit split, int possible,
                   const ModuleHardwareConfig& hw, const DeviceSpec& device);

// Reports an op whose config's sharding differs from the split its module applies
// (r.shape.split). `decider` names the op whose sharding decides; `why_not` says why
// the module cannot split, when it cannot.
void check_split(const ResolvedOp& r, const std::string& module, const std::string& decider, const std::string& why_not,
                 ValidationReport& report);

// Sets the split of a module's op shapes: `split` over `ways` chips, or replicated.
inline OpShape with_split(OpShape s, ChipSplit split, int ways) {
  s.split = ways > 1 ? split : ChipSplit::REPLICATED;
  s.chips = ways;
  return s;
}

}  // namespace ttt
