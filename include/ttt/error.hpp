// ttt::Error: the one exception type the library throws for bad input, impossible
// configs, exhausted memory and corrupt files. Every message says what was expected
// and what was found.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ttt/enum_macro.hpp"

namespace ttt {

TTT_ENUM(ErrorKind, InvalidConfig, OutOfMemory, ShapeMismatch, CacheCorrupt, ModelFormat, Unsupported, Io)

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ErrorKind kind() const { return kind_; }
  // The message without the "[Kind] " prefix that what() carries.
  const std::string& detail() const { return detail_; }

 private:
  ErrorKind kind_;
  std::string detail_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ttt

// Always-on check for op boundaries and input validation.
#define TTT_CHECK(cond, kind, ...)                      \
  do {                                                  \
    if (!(cond)) ::ttt::fail(::ttt::ErrorKind::kind, __VA_ARGS__); \
  } while (0)

// Debug-only assert for hot loops.
#ifdef NDEBUG
#define TTT_DEBUG_ASSERT(cond) ((void)0)
#else
#include <cassert>
#define TTT_DEBUG_ASSERT(cond) assert(cond)
#endif
