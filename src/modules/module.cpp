#include "ttt/modules/module.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/intents.hpp"
#include "ttt/modules/memory_plan.hpp"
#include "ttt/yaml_fields.hpp"

namespace ttt {
namespace {

constexpr const char* kIntentKeys[] = {"precision", "memory", "tiling", "optimization_target"};

bool is_intent(const std::string& key) {
  for (const char* k : kIntentKeys)
    if (key == k) return true;
  return false;
}

std::string accepted_op_keys() {
  std::string out = "precision, memory, tiling, optimization_target";
  OpConfig probe;
  OpConfig::visit_fields(probe, [&](const char* name, auto&) { out += std::string(", ") + name; });
  return out;
}

void apply_tiling_intent(OpConfig& cfg, const std::string& tiling) {
  // aggressive: the largest blocks the shapes allow (fewer, longer inner loops, more L1);
  // conservative: the smallest (least L1, most loop overhead).
  const bool aggressive = tiling == "aggressive";
  std::visit(
      [&](auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, Matmul2DConfig> || std::is_same_v<K, Matmul1DConfig> ||
                      std::is_same_v<K, MatmulReuseConfig>) {
          if (!aggressive) k.in0_block_w = 1, k.out_subblock_w = 1, k.out_subblock_h = 1;
        } else if constexpr (std::is_same_v<K, SdpaConfig>) {
          if (aggressive) k.q_chunk_size = std::max(k.q_chunk_size, 128), k.k_chunk_size = std::max(k.k_chunk_size, 512);
          else k.q_chunk_size = 32, k.k_chunk_size = 32;
        } else if constexpr (std::is_same_v<K, CpuKernelConfig>) {
          if (!aggressive) k.block_n = 64, k.block_k = 64;
        }
      },
      cfg.kernel_config);
}

void apply_yaml_override(const OpOverride& ov, OpConfig& cfg, const OpShape& shape, Mode mode,
                         const DeviceSpec& device) {
  const YamlContext base{ov.file, "ops." + ov.key};
  // Intents first, so explicit fields written beside them win; the target's column first
  // of all, so a finer intent beside it wins.
  for (const auto& kv : *ov.fields)
    if (kv.first.as<std::string>() == "optimization_target") {
      OptimizationTarget t{};
      merge_yaml(kv.second, t, YamlContext{ov.file, base.path + ".optimization_target"});
      apply_target_intent(cfg, t, shape, mode, device);
    }
  for (const auto& kv : *ov.fields) {
    const std::string key = kv.first.as<std::string>();
    const YamlContext ctx{ov.file, base.path + "." + key};
    if (key == "precision") {
      Precision p{};
      merge_yaml(kv.second, p, ctx);
      apply_precision_intent(cfg, p, shape, mode, device);
    } else if (key == "memory") {
      BufferType b{};
      merge_yaml(kv.second, b, ctx);
      apply_memory_intent(cfg, b, shape, device);
    } else if (key == "tiling") {
      const std::string t = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (t != "aggressive" && t != "conservative")
        yaml_fail(ctx, kv.second, fmt::format("unknown value '{}'; accepted: aggressive, conservative", t));
      apply_tiling_intent(cfg, t);
    }
  }
  for (const auto& kv : *ov.fields) {
    const std::string key = kv.first.as<std::string>();
    if (is_intent(key)) continue;
    bool known = false;
    OpConfig::visit_fields(cfg, [&](const char* name, auto&) { known = known || key == name; });
    if (!known)
      yaml_fail(YamlContext{ov.file, base.path + "." + key}, kv.first,
                fmt::format("unknown field '{}'; accepted: {}", key, accepted_op_keys()));
  }
  // Merge field by field from the original nodes, so errors keep their line numbers.
  for (const auto& kv : *ov.fields) {
    const std::string key = kv.first.as<std::string>();
    if (is_intent(key)) continue;
    OpConfig::visit_fields(cfg, [&](const char* name, auto& f) {
      if (key == name) merge_yaml(kv.second, f, YamlContext{ov.file, base.path + "." + key});
    });
  }
}

thread_local int g_child_depth = 0;

// The override keys apply_hardware_configs checks against the tree's op names: all of
// them when a tree is built; in override_op_config only the new key (a child shares its
// tree's configuration, keys for its siblings included); none when compiling.
struct NameCheck {
  bool all = true;
  const std::string* only = nullptr;
};
thread_local NameCheck g_name_check;

class NameCheckScope {
 public:
  explicit NameCheckScope(const std::string* only) : saved_(g_name_check) { g_name_check = {false, only}; }
  ~NameCheckScope() { g_name_check = saved_; }
  NameCheckScope(const NameCheckScope&) = delete;
  NameCheckScope& operator=(const NameCheckScope&) = delete;

 private:
  NameCheck saved_;
};

bool name_checked(const std::string& key) {
  return g_name_check.all || (g_name_check.only != nullptr && key == *g_name_check.only);
}

}  // namespace

Module::ChildScope::ChildScope() { ++g_child_depth; }
Module::ChildScope::~ChildScope() { --g_child_depth; }

ResolvedOp resolve_op(const std::string& path, const std::string& name, const OpShape& shape, Mode mode,
                      const ModuleHardwareConfig& hw, const DeviceSpec& device) {
  ResolvedOp r;
  r.path = path;
  r.name = name;
  r.shape = shape;
  r.config = module_default_config(name, shape, mode, hw.optimization_target, device, &r.rule);
  r.source = ConfigSource::module_default;
  if (hw.weight_cache_dtype && r.config.weights_dtype && shape.kind == OpKind::matmul) {
    r.config.weights_dtype = *hw.weight_cache_dtype;
    r.rule += fmt::format("; weights {} from weight_cache_dtype", to_string(*hw.weight_cache_dtype));
  }

  // YAML overrides, least specific first so the most specific is applied last.
  std::vector<std::pair<int, const OpOverride*>> matches;
  for (const auto& ov : hw.yaml_overrides) {
    const int score = match_op_path(ov.key, path, mode);
    if (score >= 0) matches.emplace_back(score, &ov);
  }
  std::stable_sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [score, ov] : matches) {
    apply_yaml_override(*ov, r.config, shape, mode, device);
    r.source = ConfigSource::yaml;
    r.rule = fmt::format("{}:{} ops.{}", ov->file, ov->line, ov->key);
  }

  // Code overrides replace the whole config.
  const OpConfig* code = nullptr;
  int best = -1;
  std::string best_key;
  for (const auto& [key, cfg] : hw.op_configs) {
    const int score = match_op_path(key, path, mode);
    if (score > best) best = score, code = &cfg, best_key = key;
  }
  if (code) {
    r.config = *code;
    r.config.op_name = name;
    r.source = ConfigSource::code;
    r.rule = fmt::format("op_configs[\"{}\"]", best_key);
  }
  return r;
}

void ValidationReport::add(const std::string& module, const std::string& op, const std::string& message) {
  lines_.push_back(fmt::format("{}.{}: {}", module.empty() ? "<root>" : module, op, message));
}

void ValidationReport::throw_if_any(std::string_view what) const {
  if (lines_.empty()) return;
  std::string msg = fmt::format("{}: {} problem{} in the hardware configuration:", what, lines_.size(),
                                lines_.size() == 1 ? "" : "s");
  for (const auto& l : lines_) msg += "\n  " + l;
  fail(ErrorKind::InvalidConfig, "{}", msg);
}

Module::Module(std::string path, std::shared_ptr<Device> device, ModuleHardwareConfig hw)
    : path_(std::move(path)), device_(std::move(device)), hw_(std::move(hw)) {
  TTT_CHECK(device_ != nullptr, InvalidConfig, "module '{}' needs a device", path_);
  if (hw_.device.empty()) hw_.device = device_->name();
  TTT_CHECK(hw_.device == device_->name(), InvalidConfig,
            "module '{}': hardware config is for device '{}' but the module runs on '{}'", path_, hw_.device,
            device_->name());
  const ModuleShapes& s = hw_.shapes;
  TTT_CHECK(s.prefill_batch > 0 && s.prefill_seq > 0 && s.decode_batch > 0 && s.cache_len > 0, InvalidConfig,
            "module '{}': hardware config shapes must be positive; found {}", path_, fields_str(s));
}

std::string Module::child_path(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

std::vector<ResolvedOp> Module::all_ops(Mode mode) const {
  std::vector<ResolvedOp> out = ops(mode);
  for (const Module* c : children_) {
    auto sub = c->all_ops(mode);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

const ResolvedOp& Module::op(Mode mode, std::string_view name) const {
  for (const auto& r : ops(mode))
    if (r.name == name) return r;
  std::string known;
  for (const auto& r : ops(mode)) known += (known.empty() ? "" : ", ") + r.name;
  fail(ErrorKind::InvalidConfig, "module '{}' has no {} op '{}'; its ops are {}", path_, to_string(mode), name, known);
}

void Module::resolve_tree(const ModuleShapes& shapes) {
  shapes_ = shapes;
  for (Mode mode : enum_values<Mode>()) {
    auto& out = resolved_[static_cast<int>(mode)];
    out.clear();
    for (const auto& [name, shape] : describe_ops(mode, shapes))
      out.push_back(resolve_op(child_path(name), name, shape, mode, hw_, device_->spec()));
  }
  for (Module* c : children_) c->resolve_tree(shapes);
}

void Module::check_tree(const ModuleShapes& shapes, ValidationReport& report) {
  for (Mode mode : enum_values<Mode>()) {
    auto& ops = resolved_[static_cast<int>(mode)];
    ValidationReport local;
    check_ops(mode, shapes, ops, local);
    // Each problem says its mode and, for an override, where the config came from.
    for (const std::string& line : local.lines()) {
      std::string from;
      for (const auto& r : ops)
        if (r.source != ConfigSource::module_default && line.rfind(r.path + ":", 0) == 0)
          from = fmt::format("; config from {}", r.rule);
      report.add_line(fmt::format("{} [{}{}]", line, to_string(mode), from));
    }
  }
  for (Module* c : children_) c->check_tree(shapes, report);
}

void Module::applied_tree() {
  for (Module* c : children_) c->applied_tree();
  on_configs_applied();
}

void Module::set_hw_tree(const ModuleHardwareConfig& hw) {
  hw_ = hw;
  for (Module* c : children_) c->set_hw_tree(hw);
}

void Module::apply_hardware_configs(const ModuleShapes& shapes) {
  shapes_ = shapes;
  // Built as a parent's child: the parent resolves, validates and applies the whole
  // tree once it is complete, so one error lists every problem of the tree.
  if (g_child_depth > 0) return;
  resolve_tree(shapes);
  // Every override, in code or YAML, must name an op of this tree.
  ValidationReport report;
  std::vector<std::string> names;
  const std::vector<ResolvedOp> pre = all_ops(Mode::prefill), dec = all_ops(Mode::decode);
  for (const auto* ops : {&pre, &dec})
    for (const auto& r : *ops)
      if (std::find(names.begin(), names.end(), r.name) == names.end()) names.push_back(r.name);
  auto matches_any = [&](const std::string& key) {
    for (const auto& r : pre)
      if (match_op_path(key, r.path, Mode::prefill) >= 0) return true;
    for (const auto& r : dec)
      if (match_op_path(key, r.path, Mode::decode) >= 0) return true;
    return false;
  };
  for (const auto& ov : hw_.yaml_overrides)
    if (name_checked(ov.key) && !matches_any(ov.key))
      report.add(path_, ov.key,
                 fmt::format("{}:{}: unknown op 'ops.{}'; accepted op names: {}", ov.file, ov.line, ov.key,
                             fmt::join(names, ", ")));
  for (const auto& [key, cfg] : hw_.op_configs)
    if (name_checked(key) && !matches_any(key))
      report.add(path_, key, fmt::format("op_configs[\"{}\"]: unknown op; accepted op names: {}", key,
                                         fmt::join(names, ", ")));
  // One copy of an op's weights serves both modes: checked here, so that a tree built
  // without weights (`ttt config validate`) reports it too.
  std::map<std::string, const ResolvedOp*> prefill_ops;
  for (const auto& r : pre) prefill_ops[r.path] = &r;
  for (const auto& d : dec) {
    const auto it = prefill_ops.find(d.path);
    const bool weights = d.shape.kind == OpKind::matmul || d.shape.kind == OpKind::embedding ||
                         d.shape.kind == OpKind::rms_norm;
    if (weights && it != prefill_ops.end() && it->second->config.weights_dtype != d.config.weights_dtype)
      report.add_line(fmt::format("{}: weights_dtype is {} in prefill but {} in decode; one copy of the weights "
                                  "serves both modes, so set it for both (a key without the mode prefix)",
                                  d.path, field_str(it->second->config.weights_dtype), field_str(d.config.weights_dtype)));
  }
  check_tree(shapes, report);
  // The root checks the whole tree fits one chip's DRAM (no weights needed to know the bytes).
  check_memory(*this, report);
  report.throw_if_any(fmt::format("module '{}' on {}", path_.empty() ? "<root>" : path_, device_->name()));
  applied_tree();
}

void Module::override_op_config(std::string_view op, OpConfig cfg) {
  ModuleHardwareConfig previous = hw_;
  ModuleHardwareConfig next = hw_;
  // A bare op name or a relative path is anchored at this module; a mode prefix
  // ("decode.") stays in front.
  std::string key(op), mode_prefix;
  for (Mode m : enum_values<Mode>())
    if (key.rfind(std::string(to_string(m)) + ".", 0) == 0) mode_prefix = std::string(to_string(m)) + ".";
  key.erase(0, mode_prefix.size());
  if (!path_.empty() && key.rfind(path_ + ".", 0) != 0 && key.find('.') != std::string::npos) key = path_ + "." + key;
  key = mode_prefix + key;
  next.op_configs[key] = std::move(cfg);
  // Compiled plans and buffers were made for the previous configs. The compiled root
  // makes them again (decode first: prefill plans write its caches; a KV cache starts
  // empty); a child of a compiled tree is marked uncompiled, and its forwards ask for
  // the root's compile.
  const bool was_compiled[2] = {compiled_[0], compiled_[1]};
  auto recompile = [&] {
    for (Mode mode : {Mode::decode, Mode::prefill}) {
      const int m = static_cast<int>(mode);
      if (!was_compiled[m]) continue;
      if (own_arena_[m]) compile_tree(mode, shapes_);
      else set_arena_tree(mode, nullptr, false);
    }
  };
  set_hw_tree(next);
  NameCheckScope names(&key);
  bool applied = false;
  try {
    apply_hardware_configs(shapes_);
    applied = true;
    recompile();
  } catch (...) {
    set_hw_tree(previous);
    if (applied) {
      // Valid but not placeable (compile failed): back to the previous, compiled state.
      apply_hardware_configs(shapes_);
      recompile();
    } else {
      resolve_tree(shapes_);
      ValidationReport unused;  // the previous configs were valid; this refills costs and bytes
      check_tree(shapes_, unused);
    }
    throw;
  }
}

void Module::resolve_configs(const ModuleShapes& shapes) {
  TTT_CHECK(!compiled(Mode::prefill) && !compiled(Mode::decode), InvalidConfig,
            "module '{}' is compiled: compile() and compile_decode() resolve for their own shapes",
            path_.empty() ? "<root>" : path_);
  TTT_CHECK(shapes.prefill_batch > 0 && shapes.prefill_seq > 0 && shapes.decode_batch > 0 && shapes.cache_len > 0,
            InvalidConfig, "resolve_configs: batch and sequence sizes must be positive (prefill {} x {}, decode {} x {})",
            shapes.prefill_batch, shapes.prefill_seq, shapes.decode_batch, shapes.cache_len);
  const ModuleShapes previous = shapes_;
  try {
    apply_hardware_configs(shapes);
  } catch (...) {
    shapes_ = previous;
    resolve_tree(shapes_);
    ValidationReport unused;
    check_tree(shapes_, unused);
    throw;
  }
}

ActivationArena& Module::arena(Mode mode) const {
  ActivationArena* a = arena_[static_cast<int>(mode)];
  TTT_CHECK(a != nullptr, InvalidConfig, "module '{}' is not compiled for {}: call {} first", path_.empty() ? "<root>" : path_,
            to_string(mode), mode == Mode::prefill ? "compile(PrefillShape)" : "compile_decode(DecodeShape)");
  return *a;
}

void Module::set_arena_tree(Mode mode, ActivationArena* arena, bool compiled) {
  arena_[static_cast<int>(mode)] = arena;
  compiled_[static_cast<int>(mode)] = compiled;
  for (Module* c : children_) c->set_arena_tree(mode, arena, compiled);
}

ActivationArena& Module::persistent_arena() const {
  TTT_CHECK(persistent_ != nullptr, InvalidConfig, "module '{}' has no KV cache yet: call compile_decode(DecodeShape) first",
            path_.empty() ? "<root>" : path_);
  return *persistent_;
}

void Module::build_activation_arena(Mode mode, CachePolicy policy) {
  const int m = static_cast<int>(mode);
  // Layers run in turn: layer N's buffers alias layer 0's (activation_arena.hpp).
  auto arena = std::make_shared<ActivationArena>(
      device_ptr(), policy, fmt::format("{}:{}", path_.empty() ? "model" : path_, to_string(mode)), true);
  std::vector<Module*> stack{this};
  while (!stack.empty()) {
    Module* mod = stack.back();
    stack.pop_back();
    mod->reserve_buffers(mode, *arena);
    for (auto it = mod->children_.rbegin(); it != mod->children_.rend(); ++it) stack.push_back(*it);
  }
  arena->commit();
  own_arena_[m] = arena;
  set_arena_tree(mode, arena.get(), true);
  stack.push_back(this);
  while (!stack.empty()) {
    Module* mod = stack.back();
    stack.pop_back();
    mod->bind_buffers(mode, *arena);
    for (auto it = mod->children_.rbegin(); it != mod->children_.rend(); ++it) stack.push_back(*it);
  }
}

void Module::compile_tree(Mode mode, const ModuleShapes& shapes) {
  const int m = static_cast<int>(mode);
  // Re-resolve with the real shapes: program configs depend on rows and lengths.
  {
    NameCheckScope names(nullptr);
    apply_hardware_configs(shapes);
  }
  // The old arena object stays (emptied) until a new one is placed: a failed compile
  // leaves this module the root that a retry recompiles.
  if (own_arena_[m]) own_arena_[m]->reset();
  set_arena_tree(mode, nullptr, false);
  if (mode == Mode::decode) {
    // The KV caches live across calls: their own arena, placed once.
    if (own_persistent_) own_persistent_->reset();
    auto persistent = std::make_shared<ActivationArena>(device_ptr(), CachePolicy::always,
                                                        fmt::format("{}:kv_cache", path_.empty() ? "model" : path_));
    std::vector<Module*> stack{this};
    while (!stack.empty()) {
      Module* mod = stack.back();
      stack.pop_back();
      mod->reserve_persistent(*persistent);
      for (auto it = mod->children_.rbegin(); it != mod->children_.rend(); ++it) stack.push_back(*it);
    }
    persistent->commit();
    own_persistent_ = persistent;
    stack.push_back(this);
    while (!stack.empty()) {
      Module* mod = stack.back();
      stack.pop_back();
      mod->persistent_ = persistent.get();
      mod->bind_persistent(*persistent);
      for (auto it = mod->children_.rbegin(); it != mod->children_.rend(); ++it) stack.push_back(*it);
    }
  }
  // Modules bind every buffer at once: under `auto` a buffer that does not fit is an
  // OutOfMemory error naming it now, not a per-call fallback the forwards never take.
  // Under `never` the buffers are placed here to check they fit, then placed afresh by
  // every forward call (prepare_forward).
  per_call_[m] = hw_.activation_cache_policy == CachePolicy::never;
  build_activation_arena(mode, CachePolicy::always);
}

void Module::prepare_forward(Mode mode) {
  const int m = static_cast<int>(mode);
  if (per_call_[m] && own_arena_[m]) {
    own_arena_[m]->reset();
    build_activation_arena(mode, CachePolicy::always);
  }
}

void Module::compile(const PrefillShape& shape) {
  TTT_CHECK(shape.batch > 0 && shape.seq_len > 0, InvalidConfig, "compile: batch {} and seq_len {} must be positive",
            shape.batch, shape.seq_len);
  ModuleShapes s = shapes_;
  s.prefill_batch = shape.batch;
  s.prefill_seq = shape.seq_len;
  compile_tree(Mode::prefill, s);
}

void Module::compile_decode(const DecodeShape& shape) {
  TTT_CHECK(shape.batch > 0 && shape.max_seq_len > 0, InvalidConfig,
            "compile_decode: batch {} and max_seq_len {} must be positive", shape.batch, shape.max_seq_len);
  ModuleShapes s = shapes_;
  s.decode_batch = shape.batch;
  s.cache_len = shape.max_seq_len;
  // Until prefill is compiled its sizes are nominal: keep them within the cache.
  const bool prefill_compiled = compiled(Mode::prefill);
  if (!prefill_compiled) {
    s.prefill_seq = std::min(s.prefill_seq, shape.max_seq_len);
    s.prefill_batch = std::min(s.prefill_batch, shape.batch);
  }
  compile_tree(Mode::decode, s);
  // The prefill plans write the caches made here (their shapes, the rotary length):
  // a prefill compiled before is compiled again against them.
  if (prefill_compiled) compile_tree(Mode::prefill, s);
}

}  // namespace ttt
