// Helpers for tests of error messages.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "ttt/error.hpp"

namespace ttt::test {

// The message of the InvalidConfig error `fn` throws (empty, and a test failure, when it
// throws none or another kind).
template <typename Fn>
std::string invalid_config_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

// Whether `text` contains every one of `parts`.
inline ::testing::AssertionResult contains(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* p : parts)
    if (text.find(p) == std::string::npos) return ::testing::AssertionFailure() << "'" << p << "' not in:\n" << text;
  return ::testing::AssertionSuccess();
}

}  // namespace ttt::test
