#include "ttt/modules/tensor_parallel.hpp"

#include <fmt/format.h>

namespace ttt {

HeadSplit split_heads(int64_t heads, int64_t kv_heads, int chips) {
  HeadSplit s;
  s.q_heads = heads;
  s.kv_heads = kv_heads;
  s.group = kv_heads > 0 ? heads / kv_heads : 1;
  if (chips <= 1) return s;
  if (heads % chips != 0) {
    s.why_not = fmt::format("{} query heads do not split evenly over {} chips", heads, chips);
    return s;
  }
  const int64_t q = heads / chips;
  if (kv_heads % chips == 0) {
    s.kv_heads = kv_heads / chips;
  } else if (chips % kv_heads == 0 && s.group % q == 0) {
    s.kv_heads = 1;  // a KV head serves the query heads of several chips: each keeps a copy
  } else {
    s.why_not = fmt::format("{} KV heads do not split over {} chips with {} query heads per chip", kv_heads, chips, q);
    return s;
  }
  s.ways = chips;
  s.q_heads = q;
  return s;
}

std::string chip_suffix(int chip, int ways) { return ways > 1 ? fmt::format("@chip{}", chip) : std::string(); }

std::string shard_name(const std::string& name, int chip, int ways) {
  return ways > 1 ? fmt::format("{}.chip{}of{}", name, chip, ways) : name;
}

int requested_ways(const std::string& path, const std::string& name, OpShape shape, ChipSplit split, int possible,
                   const ModuleHardwareConfig& hw, const DeviceSpec& device) {
  if (possible <= 1) return 1;
  const ResolvedOp r = resolve_op(path, name, with_split(shape, split, possible), Mode::decode, hw, device);
  return r.config.sharding == ChipSplit::REPLICATED ? 1 : possible;
}

void check_split(const ResolvedOp& r, const std::string& module, const std::string& decider, const std::string& why_not,
                 ValidationReport& report) {
  if (r.config.sharding == r.shape.split) return;
  std::string msg;
  if (r.shape.split == ChipSplit::REPLICATED && !why_not.empty()) {
    msg = fmt::format("sharding {}: {}, so the module runs replicated on every chip; use sharding: REPLICATED",
                      to_string(r.config.sharding), why_not);
  } else if (r.shape.split == ChipSplit::REPLICATED) {
    msg = fmt::format("sharding {}, but the module runs replicated ({}'s sharding is REPLICATED or the device has one "
                      "chip); set the same on both, or use REPLICATED",
                      to_string(r.config.sharding), decider);
  } else {
    msg = fmt::format("sharding {}, but the module splits this op {} over {} chips (decided by {}'s sharding); use {}, "
                      "or set {} to REPLICATED to keep the module whole",
                      to_string(r.config.sharding), to_string(r.shape.split), r.shape.chips, decider,
                      to_string(r.shape.split), decider);
  }
  report.add(module, r.name, msg);
}

}  // namespace ttt
