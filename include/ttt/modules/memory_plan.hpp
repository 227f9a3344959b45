// Memory per chip of a configured module tree, from its resolved ops alone: no weights
// are read and nothing is allocated, so a tree built from a spec is checked as well as
// one built with weights. One function serves the configuration-time check (a root
// module that does not fit in one chip's DRAM is an error) and `ttt estimate`.
//
// Every figure is per chip: on a multi-chip device each ResolvedOp describes one chip's
// share (its weight_bytes and output_bytes are that chip's), and chips hold their shares
// side by side, so the sums below are what each chip holds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ttt/dtype.hpp"

namespace ttt {

class Module;
class ValidationReport;

struct MemoryPlan {
  std::string device;
  int chips = 1;
  int64_t dram_per_chip = 0;  // available: DeviceSpec::dram_per_chip, nothing reserved
  int64_t l1_per_chip = 0;    // usable L1 of all cores of one chip

  // One copy of each op's weights serves both modes (counted once per op path).
  int64_t weights = 0;
  std::map<DataType, int64_t> weights_by_dtype;
  int64_t mlp_weights = 0;       // of which ff1/ff3/ff2 (the first to shrink when memory is short)
  int64_t mlp_weights_bfp4 = 0;  // what those would take stored as bfloat4_b
  int64_t whole_weights = 0;     // of which weights every chip holds whole (embedding, norms)
  // The decode KV caches (the kv_cache ops' buffers), at the tree's cache length and users.
  int64_t kv_cache = 0;
  // Op output buffers: a compiled root holds one arena per mode, both counted. Buffers
  // in DRAM share the chip's DRAM with the weights; those in L1 are listed apart (the
  // allocator places them at compile time, per core).
  int64_t activations_dram = 0;
  int64_t activations_l1 = 0;

  int64_t dram_needed() const { return weights + kv_cache + activations_dram; }
  bool fits() const { return dram_needed() <= dram_per_chip; }
  // Whether the L1 buffers could fit the chip's cores at all (a necessary condition:
  // compile places each buffer per core and may still fail). Reported, not checked at
  // configuration time.
  bool l1_may_fit() const { return activations_l1 <= l1_per_chip; }
};

// Sums the tree's resolved ops (Module::all_ops of both modes) for its device.
MemoryPlan plan_memory(const Module& root);

// The problem line for a plan that does not fit one chip's DRAM: bytes needed and
// available per chip, what they are made of, and what would fit (a larger mesh,
// bfloat4_b MLP weights). Empty when it fits.
std::string memory_problem(const MemoryPlan& plan);

// The configuration-time check of a root module on a Tenstorrent device: adds the
// problem line to the report when the tree does not fit. On `cpu` nothing is checked:
// weights are memory-mapped from the cache and host RAM is not a hard limit.
void check_memory(const Module& root, ValidationReport& report);

}  // namespace ttt
