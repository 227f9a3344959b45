// Generic walks over config structs. A config lists its fields once:
//
//   template <typename Self, typename V> static void visit_fields(Self& s, V&& v) {
//     v("name", s.name); ...
//   }
//
// and printing, hashing, YAML output and YAML input all follow that list, so a new
// field cannot be forgotten by any of them. Field types handled: bool, integers,
// double, std::string, TTT_ENUM enums, std::array<int64_t, N>, std::optional<T>,
// nested configs, and std::variant<std::monostate, Configs...> with a name table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "ttt/enum.hpp"

namespace ttt {

template <typename T>
concept FieldStruct = requires(T& t) { T::visit_fields(t, [](const char*, auto&) {}); };

template <typename T>
concept EnumType = std::is_enum_v<T> && requires(T e) { enum_names(e); };

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};

template <typename T>
struct is_std_array : std::false_type {};
template <typename T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <typename T>
struct is_variant : std::false_type {};
template <typename... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

// Names of a variant's alternatives, declared beside the variant (ProgramConfig).
template <typename Variant>
struct VariantNames;

// One-line text of any field value: "8x8"-like structs print as {x: 8, y: 8}.
template <typename T>
std::string field_str(const T& value);

template <typename T>
std::string fields_str(const T& s) {
  std::string out = "{";
  bool first = true;
  T::visit_fields(s, [&](const char* name, const auto& f) {
    out += fmt::format("{}{}: {}", first ? "" : ", ", name, field_str(f));
    first = false;
  });
  return out + "}";
}

template <typename T>
std::string field_str(const T& value) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return value ? "true" : "false";
  } else if constexpr (EnumType<U>) {
    return std::string(to_string(value));
  } else if constexpr (std::is_arithmetic_v<U>) {
    return fmt::format("{}", value);
  } else if constexpr (std::is_same_v<U, std::string>) {
    return value;
  } else if constexpr (is_optional<U>::value) {
    return value ? field_str(*value) : std::string("null");
  } else if constexpr (is_std_array<U>::value) {
    return fmt::format("[{}]", fmt::join(value, ", "));
  } else if constexpr (is_variant<U>::value) {
    return std::visit(
        [&](const auto& alt) -> std::string {
          using A = std::remove_cvref_t<decltype(alt)>;
          const char* name = VariantNames<U>::names[value.index()];
          if constexpr (std::is_same_v<A, std::monostate>) return name;
          else return fmt::format("{} {}", name, fields_str(alt));
        },
        value);
  } else {
    static_assert(FieldStruct<U>, "field type has no visit_fields");
    return fields_str(value);
  }
}

// 64-bit hash of a config over its field list (xxHash of a canonical encoding).
uint64_t hash_bytes(const void* data, std::size_t size, uint64_t seed = 0);

template <typename T>
uint64_t fields_hash(const T& s) {
  const std::string text = field_str(s);
  return hash_bytes(text.data(), text.size());
}

}  // namespace ttt
