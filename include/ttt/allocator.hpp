// Per-device allocator. It places a tensor the way TTNN does: interleaved tensors one
// page (a tile, or a row in ROW_MAJOR) at a time round-robin over the banks of their
// buffer type, starting at bank 0; sharded tensors one shard per core (L1) or per DRAM
// bank. It tracks free space per bank and raises OutOfMemory naming the bank, the
// request and what is free. It accounts for bytes; tensor data lives in host storage.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ttt/memory_config.hpp"
#include "ttt/shape.hpp"

namespace ttt {

struct DeviceSpec;
struct TensorSpec;

// One tensor's placement: the same address range in each bank it touches.
struct Allocation {
  uint64_t id = 0;
  BufferType buffer_type = BufferType::DRAM;
  int chip = 0;
  int64_t address = 0;          // byte offset inside each bank
  int64_t bytes_per_bank = 0;   // aligned bytes reserved in each bank used
  std::vector<int> banks;       // banks used (L1: core index y * grid.x + x)
  int64_t pages = 0;            // pages (interleaved) or shards (sharded)
  int64_t page_bytes = 0;       // aligned bytes of one page or shard
  int64_t total_bytes() const { return bytes_per_bank * static_cast<int64_t>(banks.size()); }
};

struct BankUsage {
  int64_t capacity = 0;
  int64_t used = 0;
  int64_t largest_free = 0;
};

class Allocator {
 public:
  explicit Allocator(const DeviceSpec& spec);

  // Places `spec` on `chip`. Checks the sharding rules first (InvalidConfig), then
  // space (OutOfMemory).
  Allocation allocate(const TensorSpec& spec, int chip = 0);
  void deallocate(const Allocation& a);

  // What a placement would take without taking it (for estimates and config checks):
  // address -1, nothing reserved. Checks the sharding rules, not the free space.
  Allocation plan(const TensorSpec& spec) const;

  int banks(BufferType t) const;
  int64_t bank_capacity(BufferType t) const;
  BankUsage usage(BufferType t, int chip, int bank) const;
  int64_t used_bytes(BufferType t, int chip = -1) const;  // -1: all chips
  int64_t free_bytes(BufferType t, int chip = -1) const;
  int64_t live_allocations() const { return static_cast<int64_t>(live_.size()); }
  // Number of allocate() calls since construction (tests count these per decode step).
  int64_t allocation_count() const { return allocation_count_; }
  std::string bank_name(BufferType t, int bank) const;  // "L1 bank 5 (core 5,0)", "DRAM bank 3"

 private:
  struct Bank {
    int64_t capacity = 0;
    std::map<int64_t, int64_t> free;  // start -> size, coalesced
  };
  std::vector<Bank>& banks_of(BufferType t, int chip);
  const std::vector<Bank>& banks_of(BufferType t, int chip) const;

  const DeviceSpec* spec_;
  std::vector<std::vector<Bank>> dram_;  // [chip][bank]
  std::vector<std::vector<Bank>> l1_;    // [chip][core]
  std::map<uint64_t, Allocation> live_;
  uint64_t next_id_ = 1;
  int64_t allocation_count_ = 0;
};

}  // namespace ttt
