// Time per op, when asked for (`ttt bench --profile`). Disabled, a scope costs one
// relaxed load; enabled, it takes a clock reading on entry and exit and adds the time
// to its op's total (by op path, e.g. "layers.3.mlp.ff1_matmul").
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace ttt {

class OpProfiler {
 public:
  static void enable(bool on);
  static bool enabled() { return enabled_.load(std::memory_order_relaxed); }
  static void record(std::string_view path, double seconds);
  // The totals of the ops recorded since the last call; sets them back to zero.
  static std::map<std::string, double> take();

 private:
  static std::atomic<bool> enabled_;
};

class ProfileScope {
 public:
  explicit ProfileScope(const std::string& path) : path_(OpProfiler::enabled() ? &path : nullptr) {
    if (path_) start_ = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (path_) OpProfiler::record(*path_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  const std::string* path_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ttt
