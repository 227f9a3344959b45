// ttt config show | dump | validate: the resolved hardware configuration of a model's
// module tree, built from a spec (or a model directory's config.json) without weights.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/error.hpp"
#include "ttt/intents.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/modules/transformer.hpp"
#include "ttt/yaml_fields.hpp"

namespace ttt::cli {
namespace {

// The options that choose what is configured: the model, the device, the mode, the
// overrides and the shapes. batch / seq_len 0 keep the hardware config's shapes (the
// file's `shapes`, else the nominal ModuleShapes{}).
struct Selection {
  std::string model;
  std::string spec;
  std::string device;  // empty: the hardware config file's `device`, else cpu
  std::string mode;    // empty: both modes
  std::string hw_config;
  std::string target;  // empty: the file's optimization_target, else balanced
  int64_t batch = 0;
  int64_t seq_len = 0;
};

// validate takes its file as an argument and checks both modes: no --hw-config, no --mode.
void add_selection(CLI::App* cmd, Selection& s, bool for_validate) {
  auto* model = cmd->add_option("--model", s.model, "Model directory (its config.json; no weights are read)");
  auto* spec = cmd->add_option("--spec", s.spec,
                               "Builtin model shape: " + fmt::format("{}", fmt::join(builtin_spec_names(), ", ")));
  model->excludes(spec);
  cmd->add_option("--device", s.device,
                  fmt::format("{} (default: the file's device, else cpu)", fmt::join(Device::known_names(), ", ")));
  if (!for_validate) {
    cmd->add_option("--mode", s.mode, "prefill or decode (default: both)")->check(CLI::IsMember({"prefill", "decode"}));
    cmd->add_option("--hw-config", s.hw_config, "Hardware config overrides (YAML)");
  }
  cmd->add_option("--target", s.target, "Optimization target, over the file's: latency, memory or balanced")
      ->check(CLI::IsMember({"latency", "memory", "balanced"}));
  cmd->add_option("--batch", s.batch, "Users: prefill batch and decode batch (default: the file's shapes, else 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", s.seq_len,
                  "Prompt length in prefill and KV-cache length in decode (default: the file's shapes, else 128)")
      ->check(CLI::PositiveNumber);
}

TransformerSpec selected_spec(const Selection& s) {
  if (!s.model.empty()) return load_model_spec(s.model);
  TTT_CHECK(!s.spec.empty(), InvalidConfig, "no model: pass --model DIR or --spec NAME (one of {})",
            fmt::join(builtin_spec_names(), ", "));
  return builtin_spec(s.spec);
}

// The hardware config: the file's (if any), its device, target and shapes replaced by
// the options given.
ModuleHardwareConfig selected_hw(const Selection& s) {
  ModuleHardwareConfig hw = s.hw_config.empty() ? ModuleHardwareConfig(s.device)
                                                : ModuleHardwareConfig::from_yaml_file(s.hw_config, s.device);
  TTT_CHECK(s.device.empty() || hw.device == s.device, InvalidConfig,
            "{}: the file is for device '{}' (its `device` key) but --device is '{}'; drop one of them", s.hw_config,
            hw.device, s.device);
  if (hw.device.empty()) hw.device = "cpu";
  if (!s.target.empty()) hw.optimization_target = parse_enum<OptimizationTarget>(s.target);
  if (s.batch > 0) hw.shapes.prefill_batch = hw.shapes.decode_batch = s.batch;
  if (s.seq_len > 0) hw.shapes.prefill_seq = hw.shapes.cache_len = s.seq_len;
  return hw;
}

std::vector<Mode> selected_modes(const Selection& s) {
  if (s.mode.empty()) return {Mode::prefill, Mode::decode};
  return {parse_enum<Mode>(s.mode)};
}

// Builds the tree without weights: construction resolves and validates both modes at
// the hardware config's shapes.
std::unique_ptr<Transformer> build(const TransformerSpec& spec, const ModuleHardwareConfig& hw) {
  return std::make_unique<Transformer>(spec, Device::open(hw.device), hw);
}

std::string shapes_str(Mode mode, const ModuleShapes& s) {
  return mode == Mode::prefill
             ? fmt::format("{} user{} x {} tokens", s.prefill_batch, s.prefill_batch == 1 ? "" : "s", s.prefill_seq)
             : fmt::format("{} user{}, KV cache of {} positions", s.decode_batch, s.decode_batch == 1 ? "" : "s",
                           s.cache_len);
}

// ---------------------------------------------------------------------------------------
// show
// ---------------------------------------------------------------------------------------

std::string dtype_str(DataType d) { return short_name(d); }

std::string memory_str(const MemoryConfig& m) {
  std::string out(to_string(m.buffer_type));
  if (!m.is_sharded()) return out;
  std::string layout(to_string(m.memory_layout));
  out += " " + layout.substr(0, layout.find('_'));
  if (m.shard_spec) out += " " + m.shard_spec->grid.str();
  return out;
}

// The program config's kind and the parameters that matter most.
std::string program_str(const ProgramConfig& pc) {
  return std::visit(
      [](const auto& c) -> std::string {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, std::monostate>) {
          return "-";
        } else if constexpr (std::is_same_v<C, Matmul2DConfig> || std::is_same_v<C, Matmul1DConfig> ||
                             std::is_same_v<C, MatmulReuseConfig>) {
          const char* kind = std::is_same_v<C, Matmul2DConfig>   ? "2d"
                             : std::is_same_v<C, Matmul1DConfig> ? "1d"
                                                                 : "reuse";
          return fmt::format("{} {} M{} N{} k{} sb{}x{}", kind, c.grid.str(), c.per_core_M, c.per_core_N, c.in0_block_w,
                             c.out_subblock_h, c.out_subblock_w);
        } else if constexpr (std::is_same_v<C, MatmulDramShardedConfig>) {
          return fmt::format("dram_sharded M{} N{} k{}", c.per_core_M, c.per_core_N, c.in0_block_w);
        } else if constexpr (std::is_same_v<C, SdpaConfig>) {
          return fmt::format("sdpa {} q{} k{}", c.grid.str(), c.q_chunk_size, c.k_chunk_size);
        } else if constexpr (std::is_same_v<C, NormConfig>) {
          return fmt::format("norm {} {}x{}", c.grid.str(), c.block_h, c.block_w);
        } else {
          std::string out = "cpu";
          if (c.threads) out += fmt::format(" t{}", c.threads);
          if (c.block_m || c.block_n || c.block_k) out += fmt::format(" {}x{}x{}", c.block_m, c.block_n, c.block_k);
          return out;
        }
      },
      pc);
}

std::string math_str(const ComputeKernelConfig& c, const DeviceSpec& d) {
  if (!d.is_ttnn()) return "fp32 (host)";
  return fmt::format("{}{}", to_string(c.math_fidelity), c.fp32_dest_acc_en ? " fp32acc" : "");
}

std::string source_str(ConfigSource s) {
  switch (s) {
    case ConfigSource::module_default:
      return "default";
    case ConfigSource::device_default:
      return "device";
    case ConfigSource::code:
      return "code";
    case ConfigSource::yaml:
      return "yaml";
  }
  return "?";
}

std::string time_str(double s) {
  return s >= 1e-3 ? fmt::format("{:.3f} ms", s * 1e3) : fmt::format("{:.1f} us", s * 1e6);
}

std::string bytes_or_dash(int64_t b) { return b > 0 ? human_bytes(static_cast<double>(b)) : "-"; }

void show_mode(const Transformer& model, Mode mode, const ModuleShapes& shapes) {
  const DeviceSpec& d = model.device().spec();
  const std::vector<ResolvedOp> ops = model.all_ops(mode);
  fmt::print("{} on {}, {}: {}; optimization target {}\n\n", model.spec().name, d.name, to_string(mode),
             shapes_str(mode, shapes), to_string(model.hw_config().optimization_target));

  Table t({"op", "source", "dtype", "weights", "memory", "program config", "math", "weight bytes", "output",
           "est. time", "bound", "why"});
  std::map<DataType, int64_t> weights_by_dtype;
  int64_t weights = 0, out_dram = 0, out_l1 = 0, kv_bytes = 0;
  double total_s = 0, layer0_s = 0;
  std::string kv_where;
  for (const ResolvedOp& r : ops) {
    const OpConfig& c = r.config;
    const bool kv = r.shape.kind == OpKind::kv_cache;
    t.add({r.path, source_str(r.source), dtype_str(c.dtype) + (c.layout == Layout::ROW_MAJOR ? " rm" : ""),
           c.weights_dtype ? dtype_str(*c.weights_dtype) : "-", memory_str(c.memory_config),
           program_str(c.kernel_config), math_str(c.compute_kernel_config, d), bytes_or_dash(r.weight_bytes),
           r.output_bytes > 0 ? fmt::format("{} {}", human_bytes(static_cast<double>(r.output_bytes)),
                                            to_string(c.memory_config.buffer_type))
                              : "-",
           time_str(r.cost.total_s()), std::string(to_string(r.cost.bound())), r.rule});
    if (r.weight_bytes > 0) {
      weights += r.weight_bytes;
      weights_by_dtype[c.weights_dtype.value_or(DataType::BFLOAT16)] += r.weight_bytes;
    }
    (c.memory_config.buffer_type == BufferType::L1 ? out_l1 : out_dram) += r.output_bytes;
    if (kv && mode == Mode::decode) {
      kv_bytes += r.output_bytes;
      kv_where = fmt::format("{} {}", dtype_str(c.dtype), memory_str(c.memory_config));
    }
    total_s += r.cost.total_s();
    if (r.path.rfind("layers.0.", 0) == 0) layer0_s += r.cost.total_s();
  }
  fmt::print("{}\n", t.str());

  std::string per_dtype;
  for (const auto& [dt, b] : weights_by_dtype)
    per_dtype +=
        fmt::format("{}{} {}", per_dtype.empty() ? "" : ", ", dtype_str(dt), human_bytes(static_cast<double>(b)));
  const int64_t l1_total = d.l1_usable() * d.cores_per_chip();
  fmt::print("totals ({}, {} ops):\n", to_string(mode), ops.size());
  fmt::print("  weights         {} ({}), in DRAM\n", human_bytes(static_cast<double>(weights)), per_dtype);
  if (mode == Mode::decode)
    fmt::print("  KV cache        {} ({})\n", human_bytes(static_cast<double>(kv_bytes)), kv_where);
  fmt::print("  op outputs      DRAM {}, L1 {}{}\n", human_bytes(static_cast<double>(out_dram)),
             human_bytes(static_cast<double>(out_l1)), mode == Mode::decode ? " (KV cache included)" : "");
  fmt::print("  DRAM            {} of {} per chip ({} chip{}, replicated)\n",
             human_bytes(static_cast<double>(weights + out_dram)), human_bytes(static_cast<double>(d.dram_per_chip)),
             d.mesh.chips(), d.mesh.chips() == 1 ? "" : "s");
  fmt::print("  L1              {} of {} ({} cores x {})\n", human_bytes(static_cast<double>(out_l1)),
             human_bytes(static_cast<double>(l1_total)), d.cores_per_chip(),
             human_bytes(static_cast<double>(d.l1_usable())));
  fmt::print("  time per layer  {} (layers.0; {} layers)\n", time_str(layer0_s), model.num_layers());
  if (mode == Mode::decode) {
    fmt::print("  total time      {} per decode step: {:.1f} tokens/s per user, {:.1f} tokens/s\n\n", time_str(total_s),
               total_s > 0 ? 1.0 / total_s : 0.0,
               total_s > 0 ? static_cast<double>(shapes.decode_batch) / total_s : 0.0);
  } else {
    fmt::print("  total time      {} to prefill {} (time to first token): {:.0f} tokens/s\n\n", time_str(total_s),
               shapes_str(mode, shapes),
               total_s > 0 ? static_cast<double>(shapes.prefill_batch * shapes.prefill_seq) / total_s : 0.0);
  }
}

int run_show(const Selection& s) {
  const auto model = build(selected_spec(s), selected_hw(s));
  for (Mode mode : selected_modes(s)) show_mode(*model, mode, model->hw_config().shapes);
  return 0;
}

// ---------------------------------------------------------------------------------------
// dump
// ---------------------------------------------------------------------------------------

// Every op of the selected modes as "<mode>.<path>" with every OpConfig field: loading
// the file back with --hw-config resolves every op to the same config.
std::string dump_yaml(const Transformer& model, const std::vector<Mode>& modes) {
  const ModuleHardwareConfig& hw = model.hw_config();
  const ModuleShapes& shapes = hw.shapes;
  YAML::Emitter out;
  out << YAML::Comment(fmt::format("ttt config dump: {} on {}; prefill {}; decode {}", model.spec().name, hw.device,
                                   shapes_str(Mode::prefill, shapes), shapes_str(Mode::decode, shapes)));
  out << YAML::Newline << YAML::BeginMap;
  out << YAML::Key << "device" << YAML::Value << hw.device;
  out << YAML::Key << "optimization_target" << YAML::Value << to_yaml(hw.optimization_target);
  if (hw.weight_cache_dtype) out << YAML::Key << "weight_cache_dtype" << YAML::Value << to_yaml(hw.weight_cache_dtype);
  out << YAML::Key << "activation_cache_policy" << YAML::Value << to_yaml(hw.activation_cache_policy);
  if (hw.cache_dir) out << YAML::Key << "cache_dir" << YAML::Value << *hw.cache_dir;
  out << YAML::Key << "shapes" << YAML::Value << YAML::Flow << to_yaml(shapes);
  out << YAML::Key << "ops" << YAML::Value << YAML::BeginMap;
  for (Mode mode : modes)
    for (const ResolvedOp& r : model.all_ops(mode))
      out << YAML::Key << fmt::format("{}.{}", to_string(mode), r.path) << YAML::Value << to_yaml(r.config);
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

int run_dump(const Selection& s, const std::string& output) {
  const auto model = build(selected_spec(s), selected_hw(s));
  const std::string text = dump_yaml(*model, selected_modes(s));
  if (output.empty() || output == "-") {
    fmt::print("{}", text);
    return 0;
  }
  std::ofstream f(output);
  TTT_CHECK(f.good(), Io, "cannot write '{}' (-o): expected a writable file path", output);
  f << text;
  TTT_CHECK(f.good(), Io, "writing '{}' failed", output);
  fmt::print(stderr, "wrote {} op configs to {}\n",
             model->all_ops(Mode::prefill).size() + model->all_ops(Mode::decode).size(), output);
  return 0;
}

// ---------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------

// A module tree's error message lists its problems one per line after a summary line;
// anything else is one problem.
std::vector<std::string> problem_lines(const Error& e) {
  const std::string& text = e.detail();
  std::vector<std::string> out;
  std::size_t pos = text.find("\n  ");
  if (pos == std::string::npos) return {text};
  while (pos != std::string::npos) {
    const std::size_t next = text.find("\n  ", pos + 3);
    out.push_back(text.substr(pos + 3, next == std::string::npos ? std::string::npos : next - pos - 3));
    pos = next;
  }
  return out;
}

// Each YAML override on its own, against the ops it names in a tree built without the
// file's overrides: unknown ops, fields, types and enum values, every one of them (the
// tree itself stops at the first).
std::vector<std::string> check_overrides(const Transformer& base, const ModuleHardwareConfig& hw, bool paths,
                                         std::vector<OpOverride>& clean) {
  std::vector<std::string> problems;
  std::vector<std::string> names;
  // Ops of each mode by name: a key's last segment names the op (or is "*").
  std::map<std::string, std::vector<ResolvedOp>> by_name[2];
  for (Mode mode : enum_values<Mode>())
    for (auto& r : base.all_ops(mode)) {
      if (std::find(names.begin(), names.end(), r.name) == names.end()) names.push_back(r.name);
      by_name[static_cast<int>(mode)][r.name].push_back(std::move(r));
    }
  for (const OpOverride& ov : hw.yaml_overrides) {
    ModuleHardwareConfig one = hw;
    one.yaml_overrides = {ov};
    // Without a model only the op name and the mode prefix can be checked: the paths
    // depend on the model.
    Mode key_mode = Mode::prefill;
    const bool has_mode = try_parse_enum(ov.key.substr(0, ov.key.find('.')), key_mode);
    const std::string op_name = ov.key.substr(ov.key.rfind('.') + 1);
    std::set<std::string> seen;
    const std::size_t before = problems.size();
    bool matched = false;
    for (Mode mode : enum_values<Mode>()) {
      if (has_mode && key_mode != mode) continue;
      for (const auto& [name, ops] : by_name[static_cast<int>(mode)]) {
        if (op_name != "*" && op_name != name) continue;
        const auto it = std::find_if(ops.begin(), ops.end(), [&](const ResolvedOp& r) {
          return !paths || match_op_path(ov.key, r.path, mode) >= 0;
        });
        if (it == ops.end()) continue;
        matched = true;
        // Without a model the key stands for its own path, so messages quote it as written.
        const std::string op_path = paths ? it->path : (has_mode ? ov.key.substr(ov.key.find('.') + 1) : ov.key);
        try {
          resolve_op(op_path, it->name, it->shape, mode, one, base.device().spec());
        } catch (const Error& e) {
          if (seen.insert(e.detail()).second) problems.push_back(e.detail());
        }
      }
    }
    if (!matched)
      problems.push_back(fmt::format("{}:{}: unknown op 'ops.{}'; accepted op names: {}", ov.file, ov.line, ov.key,
                                     fmt::join(names, ", ")));
    if (problems.size() == before) clean.push_back(ov);
  }
  return problems;
}

int run_validate(const std::string& file, const Selection& s) {
  std::vector<std::string> problems;
  auto report = [&](const std::string& what = "") {
    for (const auto& p : problems) fmt::print("{}\n", p);
    fmt::print(stderr, "{}: {} problem{}{}{}\n", file, problems.size(), problems.size() == 1 ? "" : "s",
               what.empty() ? "" : " ", what);
    return 1;
  };
  ModuleHardwareConfig hw;
  try {
    Selection with_file = s;
    with_file.hw_config = file;
    hw = selected_hw(with_file);
    Device::open(hw.device);
  } catch (const Error& e) {
    problems = problem_lines(e);
    return report();
  }
  const bool with_model = !s.model.empty() || !s.spec.empty();
  // Without a model the op names are checked against the modules' ops on a small shape.
  const TransformerSpec spec = with_model ? selected_spec(s) : builtin_spec("llama-3.2-1b");
  ModuleHardwareConfig base_hw = hw;
  base_hw.yaml_overrides.clear();
  std::unique_ptr<Transformer> base;
  try {
    TransformerSpec small = spec;
    if (!with_model) {
      small.num_layers = 1;
      base_hw.shapes = ModuleShapes{};
    }
    base = build(small, base_hw);
  } catch (const Error& e) {
    problems = problem_lines(e);
    return report("before the file's overrides (the defaults or the top-level settings)");
  }
  std::vector<OpOverride> clean;
  problems = check_overrides(*base, hw, with_model, clean);
  if (!with_model) {
    if (!problems.empty()) return report();
    fmt::print(
        "ok: syntax, keys, op names, fields and values of {} for {} (pass --model or --spec to check op paths "
        "and values against a model's shapes)\n",
        file, hw.device);
    return 0;
  }
  // The whole tree with the overrides that read well: what their values break.

  ModuleHardwareConfig readable = hw;
  readable.yaml_overrides = clean;
  try {
    build(spec, readable);
  } catch (const Error& e) {
    for (auto& line : problem_lines(e)) problems.push_back(std::move(line));
  }
  if (!problems.empty()) return report();
  fmt::print("ok: {} validates for {} on {} ({} op overrides)\n", file, spec.name, hw.device, hw.yaml_overrides.size());
  return 0;
}

// ---------------------------------------------------------------------------------------
// intents
// ---------------------------------------------------------------------------------------

// The fields an intent decides, as one cell: weights (or the cache's dtype) and math for
// precision and the target, placement for memory and the target, program config for tiling.
std::string intent_cell(const std::string& key, const ResolvedOp& r, const DeviceSpec& d) {
  const OpConfig& c = r.config;
  std::vector<std::string> parts;
  const bool precision = key == "precision" || key == "optimization_target" || key == "default";
  if (precision) {
    if (r.shape.kind == OpKind::kv_cache) parts.push_back(dtype_str(c.dtype) + " cache");
    else if (c.weights_dtype) parts.push_back(dtype_str(*c.weights_dtype) + " weights");
    if (d.is_ttnn()) parts.push_back(math_str(c.compute_kernel_config, d));
  }
  if (key == "memory" || key == "optimization_target" || key == "default") parts.push_back(memory_str(c.memory_config));
  if (key == "tiling" || key == "default") parts.push_back(program_str(c.kernel_config));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ", "));
}

// One table per device: what every intent resolves to on each kind of op, through the
// same resolution as a hardware-config file (llama-3.2-1b's shapes, 1 user, KV cache 128).
int run_intents(const std::string& device_name, const std::string& mode_name) {
  const Mode mode = parse_enum<Mode>(mode_name);
  TransformerSpec spec = builtin_spec("llama-3.2-1b");
  spec.num_layers = 1;
  const auto device = Device::open(device_name);
  const DeviceSpec& d = device->spec();
  const auto base = build(spec, ModuleHardwareConfig(device->name()));
  const std::vector<std::pair<std::string, std::string>> columns = {
      {"FF1/FF3 matmuls", "layers.0.mlp.ff1_matmul"},        {"FF2 matmul", "layers.0.mlp.ff2_matmul"},
      {"QKV, WO, LM head matmuls", "layers.0.attention.qkv_matmul"}, {"KV cache", "layers.0.attention.kv_cache"},
      {"SDPA", "layers.0.attention.sdpa"},                  {"RMS norm", "layers.0.attention_norm.rms_norm"},
      {"element-wise", "layers.0.mlp.swiglu_mul"}};
  std::vector<ResolvedOp> ops;
  for (const auto& [title, path] : columns)
    for (const ResolvedOp& r : base->all_ops(mode))
      if (r.path == path) ops.push_back(r);
  std::string out = fmt::format("Intents on {} ({}; llama-3.2-1b shapes, {}):\n\n| intent |", d.name, to_string(mode),
                                shapes_str(mode, ModuleShapes{}));
  for (const auto& c : columns) out += " " + c.first + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < columns.size(); ++i) out += "---|";
  out += "\n| (module default, balanced) |";
  for (const ResolvedOp& r : ops) out += " " + intent_cell("default", r, d) + " |";
  out += "\n";
  for (const Intent& intent : all_intents()) {
    out += fmt::format("| `{}: {}` |", intent.key, intent.value);
    for (const ResolvedOp& r : ops) {
      // Both modes: one copy of the weights serves both, so a weights change must name both.
      const std::string yaml = fmt::format("ops:\n  {}: {}\n", r.path, intent.yaml());
      const ModuleHardwareConfig hw = ModuleHardwareConfig::from_yaml_string(yaml, device->name(), "<intent>");
      const ResolvedOp got = resolve_op(r.path, r.name, r.shape, mode, hw, d);
      std::string cell = intent_cell(intent.key, got, d);
      if (got.config == r.config) {
        cell += " (default)";
      } else {
        try {
          build(spec, hw);
        } catch (const Error&) {
          cell += " (refused by the op here)";
        }
      }
      out += " " + cell + " |";
    }
    out += "\n";
  }
  fmt::print("{}", out);
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, Runner& runner) {
  auto* config = app.add_subcommand("config", "Show, dump and validate hardware configurations");
  config->require_subcommand(1);

  auto show = std::make_shared<Selection>();
  auto* show_cmd = config->add_subcommand("show", "Every op's resolved config, source, memory and estimated time");
  add_selection(show_cmd, *show, false);
  show_cmd->callback([show, &runner] { runner = [show] { return run_show(*show); }; });

  auto dump = std::make_shared<Selection>();
  auto output = std::make_shared<std::string>();
  auto* dump_cmd = config->add_subcommand("dump", "Write the resolved config as a hardware-config YAML file");
  add_selection(dump_cmd, *dump, false);
  dump_cmd->add_option("-o,--output", *output, "Output file (default: standard output)");
  dump_cmd->callback([dump, output, &runner] { runner = [dump, output] { return run_dump(*dump, *output); }; });

  auto val = std::make_shared<Selection>();
  auto file = std::make_shared<std::string>();
  auto* val_cmd = config->add_subcommand("validate", "Check a hardware-config YAML file; print ok or every problem");
  val_cmd->add_option("file", *file, "Hardware config (YAML)")->required();
  add_selection(val_cmd, *val, true);
  val_cmd->callback([val, file, &runner] { runner = [val, file] { return run_validate(*file, *val); }; });

  auto intent_device = std::make_shared<std::string>("ttnn:n150");
  auto intent_mode = std::make_shared<std::string>("decode");
  auto* intents_cmd = config->add_subcommand(
      "intents", "The table that resolves precision, memory, tiling and optimization_target intents on a device");
  intents_cmd->add_option("--device", *intent_device, "cpu, ttnn:n150, ttnn:n300, ttnn:p150, ttnn:t3k (default ttnn:n150)");
  intents_cmd->add_option("--mode", *intent_mode, "prefill or decode (default decode)")
      ->check(CLI::IsMember({"prefill", "decode"}));
  intents_cmd->callback([intent_device, intent_mode, &runner] {
    runner = [intent_device, intent_mode] { return run_intents(*intent_device, *intent_mode); };
  });
}

}  // namespace ttt::cli
