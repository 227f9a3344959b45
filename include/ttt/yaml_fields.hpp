// YAML for config structs, driven by their visit_fields lists (see ttt/fields.hpp).
//
// to_yaml writes every field. merge_yaml reads a mapping onto an existing value: keys
// that are present replace the field, keys that are absent keep it, so a partial
// override merges field by field. Errors (unknown key, wrong type, unknown enum value)
// are InvalidConfig and name the file, line, key path and the accepted values.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "ttt/fields.hpp"

namespace ttt {

struct YamlContext {
  std::string file;  // "<string>" when not read from a file
  std::string path;  // dotted key path of the node being read
};

[[noreturn]] void yaml_fail(const YamlContext& ctx, const YAML::Node& node, const std::string& message);
std::string yaml_where(const YamlContext& ctx, const YAML::Node& node);  // "file:line"

template <typename T>
YAML::Node to_yaml(const T& value);

template <typename T>
void merge_yaml(const YAML::Node& node, T& value, const YamlContext& ctx);

namespace detail {

template <typename T>
std::string field_names() {
  std::string out;
  T probe{};
  T::visit_fields(probe, [&](const char* name, auto&) { out += (out.empty() ? "" : ", ") + std::string(name); });
  return out;
}

template <typename Variant, std::size_t I = 0>
void variant_from_name(Variant& v, std::size_t index) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (I == index) {
      if (v.index() != I) v.template emplace<I>();
      return;
    }
    variant_from_name<Variant, I + 1>(v, index);
  }
}

template <typename T>
T scalar_as(const YAML::Node& node, const YamlContext& ctx, const char* type_name) {
  if (!node.IsScalar()) yaml_fail(ctx, node, fmt::format("expected {} but found a {}", type_name, node.IsMap() ? "mapping" : "sequence"));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    yaml_fail(ctx, node, fmt::format("expected {} but found '{}'", type_name, node.Scalar()));
  }
}

}  // namespace detail

template <typename T>
YAML::Node to_yaml(const T& value) {
  using U = std::remove_cvref_t<T>;
  YAML::Node n;
  if constexpr (std::is_same_v<U, bool> || (std::is_arithmetic_v<U>)) {
    n = value;
  } else if constexpr (EnumType<U>) {
    n = std::string(to_string(value));
  } else if constexpr (std::is_same_v<U, std::string>) {
    n = value;
  } else if constexpr (is_optional<U>::value) {
    if (value) return to_yaml(*value);
    n = YAML::Node(YAML::NodeType::Null);
  } else if constexpr (is_std_array<U>::value) {
    n = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& x : value) n.push_back(x);
    n.SetStyle(YAML::EmitterStyle::Flow);
  } else if constexpr (is_variant<U>::value) {
    std::visit(
        [&](const auto& alt) {
          using A = std::remove_cvref_t<decltype(alt)>;
          const char* name = VariantNames<U>::names[value.index()];
          if constexpr (std::is_same_v<A, std::monostate>) {
            n = std::string(name);
          } else {
            n[name] = to_yaml(alt);
          }
        },
        value);
  } else {
    static_assert(FieldStruct<U>, "field type has no visit_fields");
    n = YAML::Node(YAML::NodeType::Map);
    U::visit_fields(value, [&](const char* name, const auto& f) { n[name] = to_yaml(f); });
  }
  return n;
}

template <typename T>
void merge_yaml(const YAML::Node& node, T& value, const YamlContext& ctx) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    value = detail::scalar_as<bool>(node, ctx, "true or false");
  } else if constexpr (std::is_integral_v<U>) {
    value = detail::scalar_as<U>(node, ctx, "an integer");
  } else if constexpr (std::is_floating_point_v<U>) {
    value = detail::scalar_as<U>(node, ctx, "a number");
  } else if constexpr (EnumType<U>) {
    const auto text = detail::scalar_as<std::string>(node, ctx, "a name");
    if (!try_parse_enum(text, value))
      yaml_fail(ctx, node, fmt::format("unknown value '{}'; accepted: {}", text, enum_choices<U>()));
  } else if constexpr (std::is_same_v<U, std::string>) {
    value = detail::scalar_as<std::string>(node, ctx, "a string");
  } else if constexpr (is_optional<U>::value) {
    if (node.IsNull()) {
      value.reset();
    } else {
      if (!value) value.emplace();
      merge_yaml(node, *value, ctx);
    }
  } else if constexpr (is_std_array<U>::value) {
    if (!node.IsSequence() || node.size() != value.size())
      yaml_fail(ctx, node, fmt::format("expected a list of {} integers", value.size()));
    for (std::size_t i = 0; i < value.size(); ++i) {
      YamlContext sub{ctx.file, fmt::format("{}[{}]", ctx.path, i)};
      merge_yaml(node[i], value[i], sub);
    }
  } else if constexpr (is_variant<U>::value) {
    constexpr std::size_t count = std::variant_size_v<U>;
    std::string accepted;
    for (std::size_t i = 0; i < count; ++i) accepted += (i ? ", " : "") + std::string(VariantNames<U>::names[i]);
    auto find = [&](const std::string& name) -> std::size_t {
      for (std::size_t i = 0; i < count; ++i)
        if (detail::iequals(name, VariantNames<U>::names[i])) return i;
      yaml_fail(ctx, node, fmt::format("unknown kind '{}'; accepted: {}", name, accepted));
    };
    if (node.IsScalar()) {
      detail::variant_from_name(value, find(node.Scalar()));
      return;
    }
    if (!node.IsMap() || node.size() != 1)
      yaml_fail(ctx, node, fmt::format("expected a mapping with one key naming the kind ({})", accepted));
    const auto it = node.begin();
    const std::string kind = it->first.as<std::string>();
    detail::variant_from_name(value, find(kind));
    std::visit(
        [&](auto& alt) {
          using A = std::remove_cvref_t<decltype(alt)>;
          if constexpr (!std::is_same_v<A, std::monostate>) {
            YamlContext sub{ctx.file, ctx.path + "." + kind};
            if (!it->second.IsNull()) merge_yaml(it->second, alt, sub);
          }
        },
        value);
  } else {
    static_assert(FieldStruct<U>, "field type has no visit_fields");
    if (!node.IsMap()) yaml_fail(ctx, node, fmt::format("expected a mapping with keys {}", detail::field_names<U>()));
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      bool found = false;
      U::visit_fields(value, [&](const char* name, auto& f) {
        if (!found && key == name) {
          found = true;
          YamlContext sub{ctx.file, ctx.path.empty() ? key : ctx.path + "." + key};
          merge_yaml(kv.second, f, sub);
        }
      });
      if (!found) {
        YamlContext sub{ctx.file, ctx.path.empty() ? key : ctx.path + "." + key};
        yaml_fail(sub, kv.first, fmt::format("unknown field '{}'; accepted: {}", key, detail::field_names<U>()));
      }
    }
  }
}

}  // namespace ttt
