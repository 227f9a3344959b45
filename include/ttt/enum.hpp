// Parsing and listing helpers for enums declared with TTT_ENUM.
#pragma once

#include "ttt/enum_macro.hpp"
#include "ttt/error.hpp"

namespace ttt {

template <typename E>
constexpr std::size_t enum_count() {
  return enum_names(E{}).size();
}

template <typename E>
constexpr auto enum_values() {
  std::array<E, enum_count<E>()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<E>(i);
  return out;
}

// Accepted names of an enum, "A, B, C", for error messages.
template <typename E>
std::string enum_choices() {
  constexpr auto names = enum_names(E{});
  return detail::join_names(names.data(), names.size());
}

template <typename E>
bool try_parse_enum(std::string_view text, E& out) {
  constexpr auto names = enum_names(E{});
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (detail::iequals(names[i], text)) {
      out = static_cast<E>(i);
      return true;
    }
  }
  // Other spellings an enum accepts, where its header declares enum_alias(text, E&).
  if constexpr (requires { enum_alias(text, out); }) return enum_alias(text, out);
  return false;
}

template <typename E>
E parse_enum(std::string_view text) {
  E out{};
  if (!try_parse_enum(text, out)) {
    fail(ErrorKind::InvalidConfig, "unknown {} '{}': expected one of {}", enum_type_name(E{}), text,
         enum_choices<E>());
  }
  return out;
}

}  // namespace ttt
