#include "ttt/hardware_config.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "ttt/error.hpp"
#include "ttt/yaml_fields.hpp"

namespace ttt {
namespace {

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool parse_int(std::string_view s, long& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// One key segment against one path segment: exact, "*", or a range "0-3" / list "1,5".
bool segment_matches(std::string_view key, std::string_view seg) {
  if (key == "*" || key == seg) return true;
  long index;
  if (!parse_int(seg, index)) return false;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find(',', start);
    if (end == std::string_view::npos) end = key.size();
    const std::string_view part = key.substr(start, end - start);
    const std::size_t dash = part.find('-');
    long lo, hi;
    if (dash == std::string_view::npos) {
      if (parse_int(part, lo) && lo == index) return true;
    } else if (parse_int(part.substr(0, dash), lo) && parse_int(part.substr(dash + 1), hi)) {
      if (index >= lo && index <= hi) return true;
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

int match_op_path(std::string_view key, std::string_view path, Mode mode) {
  std::vector<std::string_view> k = split_dots(key);
  int bonus = 0;
  if (!k.empty()) {
    Mode m;
    if (try_parse_enum(k.front(), m)) {
      if (m != mode) return -1;
      k.erase(k.begin());
      bonus = 1;
    }
  }
  const std::vector<std::string_view> p = split_dots(path);
  if (k.empty() || k.size() > p.size()) return -1;
  // The key's segments match the trailing segments of the path.
  const std::size_t off = p.size() - k.size();
  for (std::size_t i = 0; i < k.size(); ++i)
    if (!segment_matches(k[i], p[off + i])) return -1;
  return static_cast<int>(k.size()) + bonus;
}

const OpConfig* ModuleHardwareConfig::get_op_config(std::string_view path) const {
  const OpConfig* best = nullptr;
  int best_score = -1;
  for (const auto& [key, cfg] : op_configs) {
    // Code overrides apply to both modes unless the key names one; prefill is as good as any here.
    int score = std::max(match_op_path(key, path, Mode::prefill), match_op_path(key, path, Mode::decode));
    if (score > best_score) best = &cfg, best_score = score;
  }
  return best;
}

ModuleHardwareConfig ModuleHardwareConfig::from_yaml_string(const std::string& text, std::string device,
                                                            const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail(ErrorKind::InvalidConfig, "{}:{}: YAML syntax error: {}", file, e.mark.line + 1, e.msg);
  }
  ModuleHardwareConfig cfg(std::move(device));
  if (root.IsNull()) return cfg;
  YamlContext ctx{file, ""};
  if (!root.IsMap()) yaml_fail(ctx, root, "expected a mapping with keys optimization_target, weight_cache_dtype, activation_cache_policy, cache_dir, shapes, device, ops");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    YamlContext sub{file, key};
    if (key == "optimization_target") {
      merge_yaml(kv.second, cfg.optimization_target, sub);
    } else if (key == "weight_cache_dtype") {
      merge_yaml(kv.second, cfg.weight_cache_dtype, sub);
    } else if (key == "activation_cache_policy") {
      merge_yaml(kv.second, cfg.activation_cache_policy, sub);
    } else if (key == "cache_dir") {
      merge_yaml(kv.second, cfg.cache_dir, sub);
    } else if (key == "shapes") {
      merge_yaml(kv.second, cfg.shapes, sub);
    } else if (key == "device") {
      merge_yaml(kv.second, cfg.device, sub);
    } else if (key == "ops") {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap()) yaml_fail(sub, kv.second, "expected a mapping of op paths to op settings");
      for (const auto& op : kv.second) {
        const std::string op_key = op.first.as<std::string>();
        YamlContext op_ctx{file, "ops." + op_key};
        if (!op.second.IsMap()) yaml_fail(op_ctx, op.second, "expected a mapping of op settings");
        // The node itself (overrides only read it): a clone loses the marks that give
        // errors in its fields their line numbers.
        cfg.yaml_overrides.push_back(
            OpOverride{op_key, std::make_shared<const YAML::Node>(op.second), file, op.first.Mark().line + 1});
      }
    } else {
      yaml_fail(sub, kv.first,
                fmt::format("unknown key '{}'; accepted: optimization_target, weight_cache_dtype, "
                            "activation_cache_policy, cache_dir, shapes, device, ops",
                            key));
    }
  }
  return cfg;
}

ModuleHardwareConfig ModuleHardwareConfig::from_yaml_file(const std::string& path, std::string device) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::Io, "cannot open hardware config '{}': expected a readable YAML file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_yaml_string(ss.str(), std::move(device), path);
}

}  // namespace ttt
