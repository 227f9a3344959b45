#include "ttt/error.hpp"

#include <cctype>

#include "ttt/enum.hpp"

namespace ttt {

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(fmt::format("[{}] {}", to_string(kind), message)), kind_(kind), detail_(message) {}

namespace detail {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string join_names(const std::string_view* names, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

}  // namespace detail
}  // namespace ttt
