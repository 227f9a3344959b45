#include "tune/tune_yaml.hpp"

#include <map>

#include <fmt/format.h>

#include "ttt/yaml_fields.hpp"

namespace ttt::tune_detail {
namespace {

// Top-level fields of an op config, by name, as text (for comparison) and YAML.
struct Field {
  std::string name, text;
  YAML::Node node;
};

std::vector<Field> fields_of(const OpConfig& c) {
  std::vector<Field> out;
  OpConfig::visit_fields(c, [&](const char* name, const auto& f) {
    if (std::string_view(name) == "op_name") return;
    out.push_back({name, field_str(f), to_yaml(f)});
  });
  return out;
}

void set_fields(YAML::Node& ops, const std::string& key, const YAML::Node& fields) {
  YAML::Node entry = ops[key];
  if (!entry.IsMap()) entry = YAML::Node(YAML::NodeType::Map);
  for (const auto& kv : fields) entry[kv.first.as<std::string>()] = kv.second;
  ops[key] = entry;
}

}  // namespace

std::string override_key(const std::string& path) {
  if (path.rfind("layers.", 0) != 0) return path;
  const std::size_t dot = path.find('.', 7);
  return dot == std::string::npos ? path : "layers.*" + path.substr(dot);
}

std::string render_yaml(const ModuleHardwareConfig& start, const std::vector<Winner>& winners,
                        const std::vector<std::string>& comment) {
  YAML::Node ops(YAML::NodeType::Map);
  for (const auto& [key, cfg] : start.op_configs) {
    YAML::Node n = to_yaml(cfg);
    n.remove("op_name");
    set_fields(ops, key, n);
  }
  for (const OpOverride& ov : start.yaml_overrides) set_fields(ops, ov.key, *ov.fields);
  for (const Winner& w : winners) {
    YAML::Node diff(YAML::NodeType::Map), weights(YAML::NodeType::Map);
    const std::vector<Field> a = fields_of(w.start), b = fields_of(w.config);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].text == b[i].text) continue;
      // Nested settings on one line each; separate nodes (a shared one is written as an anchor).
      YAML::Node node = YAML::Clone(b[i].node);
      if (node.IsMap()) node.SetStyle(YAML::EmitterStyle::Flow);
      diff[b[i].name] = node;
      if (b[i].name == "weights_dtype" || (w.cache && b[i].name == "dtype")) weights[b[i].name] = YAML::Clone(b[i].node);
    }
    if (diff.size() == 0) continue;
    set_fields(ops, fmt::format("{}.{}", to_string(w.mode), w.key), diff);
    if (weights.size() > 0) {
      const Mode other = w.mode == Mode::decode ? Mode::prefill : Mode::decode;
      set_fields(ops, fmt::format("{}.{}", to_string(other), w.key), weights);
    }
  }
  YAML::Emitter out;
  for (const std::string& line : comment) out << YAML::Comment(line) << YAML::Newline;
  out << YAML::BeginMap;
  out << YAML::Key << "device" << YAML::Value << start.device;
  out << YAML::Key << "optimization_target" << YAML::Value << to_yaml(start.optimization_target);
  if (start.weight_cache_dtype) out << YAML::Key << "weight_cache_dtype" << YAML::Value << to_yaml(start.weight_cache_dtype);
  out << YAML::Key << "activation_cache_policy" << YAML::Value << to_yaml(start.activation_cache_policy);
  if (start.cache_dir) out << YAML::Key << "cache_dir" << YAML::Value << *start.cache_dir;
  out << YAML::Key << "shapes" << YAML::Value << YAML::Flow << to_yaml(start.shapes);
  out << YAML::Key << "ops" << YAML::Value << ops;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

ModuleHardwareConfig load_rendered(const std::string& text, const ModuleHardwareConfig& start) {
  ModuleHardwareConfig hw = ModuleHardwareConfig::from_yaml_string(text, start.device, "tuned.yaml");
  hw.op_configs = start.op_configs;
  return hw;
}

}  // namespace ttt::tune_detail

namespace ttt {

namespace {

// Leaves of a YAML value by dotted path ("kernel_config.matmul_1d.grid.x" -> "8").
void flatten(const YAML::Node& n, const std::string& path, std::map<std::string, std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) flatten(kv.second, path + "." + kv.first.as<std::string>(), out);
  } else if (n.IsScalar()) {
    out[path] = n.Scalar();
  } else if (n.IsNull()) {
    out[path] = "null";
  } else {
    YAML::Emitter e;
    e << YAML::Flow << n;
    out[path] = e.c_str();
  }
}

}  // namespace

std::vector<std::string> config_changes(const OpConfig& from, const OpConfig& to) {
  std::vector<std::string> out;
  const std::vector<tune_detail::Field> a = tune_detail::fields_of(from), b = tune_detail::fields_of(to);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].text == b[i].text) continue;
    std::map<std::string, std::string> fa, fb;
    flatten(a[i].node, a[i].name, fa);
    flatten(b[i].node, b[i].name, fb);
    bool same_keys = fa.size() == fb.size();
    for (const auto& [k, v] : fa) same_keys = same_keys && fb.count(k) == 1;
    if (!same_keys) {  // another kind of program config, a shard spec added: the whole field
      out.push_back(fmt::format("{} {} -> {}", a[i].name, a[i].text, b[i].text));
      continue;
    }
    for (const auto& [k, v] : fa)
      if (fb[k] != v) out.push_back(fmt::format("{} {} -> {}", k, v, fb[k]));
  }
  return out;
}

}  // namespace ttt
