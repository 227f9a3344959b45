// The module base: a named node of the model tree that owns named ops, resolves their
// configs for both modes (override > module default > device default), validates all
// of them before any weight is converted, and re-applies on override.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/cost_model.hpp"
#include "ttt/device.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/op_config.hpp"
#include "ttt/op_defaults.hpp"

namespace ttt {

struct ResolvedOp {
  std::string path;  // "layers.0.attention.qkv_matmul"
  std::string name;  // "qkv_matmul"
  OpShape shape;     // the shapes the config was resolved for
  OpConfig config;
  ConfigSource source = ConfigSource::module_default;
  std::string rule;             // why the default is what it is
  // On a multi-chip device every figure is one chip's share (chips run in parallel).
  Cost cost;                    // estimated device time of one call at `shape`, per chip
  int64_t weight_bytes = 0;     // stored bytes of the op's weights (per chip)
  int64_t output_bytes = 0;     // bytes of its output buffer (per chip)
};

class ActivationArena;

struct PrefillShape {
  int64_t batch = 1;
  int64_t seq_len = 128;
};

struct DecodeShape {
  int64_t batch = 1;           // users decoded together
  int64_t max_seq_len = 2048;  // KV-cache length per user
};

// ModuleShapes (the shapes configs are resolved for) is declared with ModuleHardwareConfig.

// Resolves one op's config: code override, then YAML overrides (intents first, then
// fields, in order of specificity), then the module default, then the device default.
ResolvedOp resolve_op(const std::string& path, const std::string& name, const OpShape& shape, Mode mode,
                      const ModuleHardwareConfig& hw, const DeviceSpec& device);

// Problems found while validating a module tree, reported together, one line each.
class ValidationReport {
 public:
  void add(const std::string& module, const std::string& op, const std::string& message);
  void add_line(std::string line) { lines_.push_back(std::move(line)); }
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  // Throws InvalidConfig listing every problem, if any.
  void throw_if_any(std::string_view what) const;

 private:
  std::vector<std::string> lines_;
};

class Module {
 public:
  Module(std::string path, std::shared_ptr<Device> device, ModuleHardwareConfig hw);
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& path() const { return path_; }
  Device& device() const { return *device_; }
  const std::shared_ptr<Device>& device_ptr() const { return device_; }
  const ModuleHardwareConfig& hw_config() const { return hw_; }

  // This module's own ops for a mode (children report theirs).
  const std::vector<ResolvedOp>& ops(Mode mode) const { return resolved_[static_cast<int>(mode)]; }
  // This module's ops and its children's, in forward order.
  std::vector<ResolvedOp> all_ops(Mode mode) const;
  const ResolvedOp& op(Mode mode, std::string_view name) const;

  // The seed's override_op_config: `op` is an op name or path (relative to this module,
  // or absolute). Re-applies and re-validates the whole subtree; on failure the
  // previous config stays in force and the error lists every problem. A compiled root
  // compiles again with the new configs (buffers made anew: the KV cache starts empty).
  void override_op_config(std::string_view op, OpConfig cfg);

  const std::vector<Module*>& children() const { return children_; }

  // Compile time: re-resolves and validates the configs for these shapes, then
  // allocates every activation buffer of the subtree (through the device allocator,
  // with each writer's memory config). forward_* write into them.
  void compile(const PrefillShape& shape);
  void compile_decode(const DecodeShape& shape);
  // Re-resolves and validates the subtree's configs for these shapes without allocating
  // anything (what `ttt config show --batch --seq-len` reports). Throws like
  // construction; not allowed once compiled, since compile() resolves for its own shapes.
  void resolve_configs(const ModuleShapes& shapes);
  bool compiled(Mode mode) const { return compiled_[static_cast<int>(mode)]; }
  // The arena holding this subtree's buffers for a mode (owned by the compiled root).
  ActivationArena& arena(Mode mode) const;
  // The arena of buffers that outlive a forward call (the KV caches), made at compile_decode.
  ActivationArena& persistent_arena() const;

 protected:
  // The module's ops for a mode, with shapes for the given nominal sizes.
  virtual std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const = 0;
  // Checks each resolved op against its op's validate() and fills in its cost and
  // bytes; adds problems to the report (one per op, naming the op).
  virtual void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops,
                         ValidationReport& report) const = 0;
  // Called after configs changed and validated: (re)convert weights, drop compiled buffers.
  virtual void on_configs_applied() {}
  // Compile: reserve this module's own buffers in the arena (children do theirs), then
  // bind them once the arena is committed.
  virtual void reserve_buffers(Mode mode, ActivationArena& arena) = 0;
  virtual void bind_buffers(Mode mode, ActivationArena& arena) = 0;
  // Buffers that must outlive a call (KV caches): reserved once at compile_decode, in
  // their own arena, whatever the activation policy.
  virtual void reserve_persistent(ActivationArena& arena) { (void)arena; }
  virtual void bind_persistent(ActivationArena& arena) { (void)arena; }
  // Called at the top of every public forward: under activation_cache_policy `never`
  // the compiled root allocates this call's activation buffers afresh (they are freed
  // when the next call replaces them). A no-op otherwise.
  void prepare_forward(Mode mode);

  // Resolves and validates this subtree for `shapes`; throws one error listing all problems.
  void apply_hardware_configs(const ModuleShapes& shapes);
  void add_child(Module* child) { children_.push_back(child); }
  // Held while a parent constructs its children: a child then leaves resolution,
  // validation and weight conversion to the parent, which sees the whole tree (so an
  // override is checked against every op, and one error lists every problem).
  class ChildScope {
   public:
    ChildScope();
    ~ChildScope();
    ChildScope(const ChildScope&) = delete;
    ChildScope& operator=(const ChildScope&) = delete;
  };
  std::string child_path(std::string_view name) const;
  const ModuleShapes& shapes() const { return shapes_; }

 private:
  void resolve_tree(const ModuleShapes& shapes);
  void check_tree(const ModuleShapes& shapes, ValidationReport& report);
  void applied_tree();
  void set_hw_tree(const ModuleHardwareConfig& hw);

  std::string path_;
  std::shared_ptr<Device> device_;
  ModuleHardwareConfig hw_;
  std::vector<ResolvedOp> resolved_[2];
  void compile_tree(Mode mode, const ModuleShapes& shapes);
  void set_arena_tree(Mode mode, ActivationArena* arena, bool compiled);

  std::vector<Module*> children_;
  ModuleShapes shapes_;
  void build_activation_arena(Mode mode, CachePolicy policy);

  std::shared_ptr<ActivationArena> own_arena_[2];
  ActivationArena* arena_[2] = {nullptr, nullptr};
  std::shared_ptr<ActivationArena> own_persistent_;
  ActivationArena* persistent_ = nullptr;
  bool per_call_[2] = {false, false};
  bool compiled_[2] = {false, false};
};

}  // namespace ttt
