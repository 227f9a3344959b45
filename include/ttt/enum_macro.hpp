// The TTT_ENUM macro (no dependencies; parse helpers live in ttt/enum.hpp).
//
// One list per enum drives both directions of its string conversion.
//
//   TTT_ENUM(Layout, ROW_MAJOR, TILE)
//
// declares `enum class Layout { ROW_MAJOR, TILE }` and makes to_string(Layout) and
// parse_enum<Layout>("tile") work. Enumerators are spelled as TTNN spells them, so the
// strings users know from TTNN are the strings ttt prints and reads. Parsing ignores
// case; an unknown name is an InvalidConfig error listing the accepted ones. A
// trailing underscore is dropped from the printed name, so `auto_` reads "auto".
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>


namespace ttt::detail {

constexpr std::size_t count_enum_names(std::string_view list) {
  std::size_t n = 1;
  for (char c : list) n += (c == ',');
  return n;
}

constexpr bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

template <std::size_t N>
constexpr std::array<std::string_view, N> split_enum_names(std::string_view list) {
  std::array<std::string_view, N> out{};
  std::size_t start = 0;
  for (std::size_t i = 0; i < N; ++i) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::size_t b = start, e = end;
    while (b < e && is_space(list[b])) ++b;
    while (e > b && is_space(list[e - 1])) --e;
    // A trailing underscore lets a keyword be an enumerator (auto_ prints as "auto").
    if (e > b + 1 && list[e - 1] == '_') --e;
    out[i] = list.substr(b, e - b);
    start = end + 1;
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b);
std::string join_names(const std::string_view* names, std::size_t n);

}  // namespace ttt::detail

#define TTT_ENUM(Name, ...)                                                                  \
  enum class Name : int { __VA_ARGS__ };                                                     \
  inline constexpr auto enum_names(Name) {                                                   \
    return ::ttt::detail::split_enum_names<::ttt::detail::count_enum_names(#__VA_ARGS__)>(   \
        #__VA_ARGS__);                                                                       \
  }                                                                                          \
  inline constexpr std::string_view enum_type_name(Name) { return #Name; }                   \
  inline std::string_view to_string(Name v) { return enum_names(Name{})[static_cast<int>(v)]; }

