// Shared helpers for the model tests: where the bundled models are, temporary
// directories, and checking a ttt::Error's kind and message.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/error.hpp"

namespace ttt::test {

// TTT_MODELS_DIR (ctest sets it), else shared/models beside the repository. Read once, here.
inline std::filesystem::path models_dir() {
  static const std::filesystem::path dir = [] {
    if (const char* env = std::getenv("TTT_MODELS_DIR"); env && *env) return std::filesystem::path(env);
    return std::filesystem::path(TTT_SOURCE_DIR) / ".." / "shared" / "models";
  }();
  return dir;
}

inline std::filesystem::path model_path(std::string_view name) {
  auto p = models_dir() / std::string(name);
  EXPECT_TRUE(std::filesystem::is_directory(p)) << "bundled model not found: " << p << " (set TTT_MODELS_DIR)";
  return p;
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("ttt_models_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / std::string(name); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs f, expects a ttt::Error of `kind`, returns its message ("" and a failure otherwise).
template <typename F>
std::string error_of(F&& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ttt::Error, got " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a ttt::Error, nothing was thrown";
  return "";
}

inline std::vector<int32_t> parse_ids(std::string_view text) {
  std::vector<int32_t> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    out.push_back(std::stoi(std::string(text.substr(i, j - i))));
    i = j;
  }
  return out;
}

}  // namespace ttt::test
