// ActivationArena: the activation buffers of a module, allocated once at compile time,
// when batch and sequence length are known, and written by every forward pass.
//
// reserve() places each named buffer through the device's Allocator with the memory
// config of the op that writes it (on ttnn:* devices this is where L1 and DRAM limits
// are honoured: a buffer that does not fit raises OutOfMemory naming it), and keeps the
// Allocation until reset(). The host bytes behind the buffers are one 64-byte-aligned
// block per commit(), carved into 64-byte-aligned slices.
//
// The policy is ModuleHardwareConfig::activation_cache_policy:
//   always - every buffer acquire()d must have been reserved; reserve() raises
//            OutOfMemory when a buffer does not fit.
//   auto   - reserve() keeps a buffer that does not fit out of the arena; acquire()
//            then allocates it per call (it may fit once other buffers are freed).
//   never  - reserve() only records the spec; acquire() allocates per call.
//
// Layers run one after another, so the buffers of layer N may be layer 0's: with
// share_layers (what modules compile with), a buffer named "layers.<N>.<rest>" whose
// spec and chip equal those of an earlier "layers.<M>.<rest>" aliases it instead of
// taking device memory and host bytes of its own (as TTNN frees a layer's tensors
// before the next layer allocates). A layer's output is the next layer's input and is
// only read before the next layer writes its own, so aliasing is safe for the decoder.
//
// In steady state (the same specs acquired again) get() and acquire() allocate nothing,
// on the device allocator or the heap: they return references to tensors the arena
// holds. A smaller shape than reserved is a view, made once and kept until the shape
// changes. The arena is not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/allocator.hpp"
#include "ttt/device.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/tensor.hpp"

namespace ttt {

// "layers.12.attention.qkv_matmul.out" -> "layers.*.attention.qkv_matmul.out"; other
// names unchanged. What layer-shared buffers (and their ops) have in common.
std::string layer_shared_key(std::string_view name);

class ActivationArena {
 public:
  explicit ActivationArena(std::shared_ptr<Device> device, CachePolicy policy = CachePolicy::always,
                           std::string name = {}, bool share_layers = false);
  ~ActivationArena();
  ActivationArena(const ActivationArena&) = delete;
  ActivationArena& operator=(const ActivationArena&) = delete;

  // Compile time: a named buffer of spec.name, placed on `chip`. A name reserved twice
  // is an InvalidConfig error.
  void reserve(const TensorSpec& spec, int chip = 0);
  // Allocates one host block for every reservation made since the last commit. get()
  // and acquire() commit on demand; call it at compile time to keep that off the
  // first forward.
  void commit();

  bool contains(std::string_view name) const;  // reserved or acquired under this name
  bool placed(std::string_view name) const;    // held in the arena (not per call)
  bool aliased(std::string_view name) const;   // shares an earlier layer's buffer

  // The reserved buffer, whole. InvalidConfig when `name` is not held in the arena.
  const Tensor& get(std::string_view name);
  // The reserved buffer seen as `shape` (same dtype and layout, no larger in bytes).
  const Tensor& get(std::string_view name, const Shape& shape);

  // The buffer to write spec.name into: the reserved one (viewed as spec.shape) when the
  // arena holds it, else, by policy, a fresh tensor placed through the allocator that
  // lives until the next acquire of this name or reset(). The reference stays valid
  // until then.
  const Tensor& acquire(const TensorSpec& spec, int chip = 0);

  // Frees the device allocations of the reserved buffers and drops every buffer.
  // Tensors still held elsewhere keep their host bytes alive; a per-call tensor gives
  // its device allocation back when its last holder drops it.
  void reset();

  CachePolicy policy() const { return policy_; }
  const std::string& name() const { return name_; }
  std::size_t size() const { return slots_.size(); }
  std::vector<std::string> names() const;
  int64_t host_bytes() const { return host_bytes_; }  // host blocks allocated
  int64_t device_bytes() const;                       // bytes the reserved buffers hold in device banks

 private:
  struct Slot {
    TensorSpec spec;
    int chip = 0;
    bool placed = false;  // has an Allocation in `allocation`
    Allocation allocation;
    Tensor full;   // the reserved buffer once committed
    Tensor view;   // the last view handed out
    Tensor fresh;  // per-call tensor (policy never/auto fallback)
    std::string alias_of;  // the earlier layer's buffer this one shares ("" when its own)
  };
  Slot& slot(std::string_view name, const char* what);
  const Tensor& view_of(Slot& s, const Shape& shape);
  const Tensor& fresh(Slot& s, const TensorSpec& spec, int chip);

  std::shared_ptr<Device> device_;
  CachePolicy policy_;
  std::string name_;
  bool share_layers_ = false;
  std::map<std::string, Slot, std::less<>> slots_;
  std::map<std::string, std::string, std::less<>> shared_;  // layer key + chip -> first buffer
  std::vector<std::string> pending_;  // reserved, not yet committed
  std::vector<std::shared_ptr<Storage>> blocks_;
  int64_t host_bytes_ = 0;
};

}  // namespace ttt
