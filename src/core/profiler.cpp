#include "ttt/profiler.hpp"

#include <mutex>

namespace ttt {
namespace {
std::mutex g_mutex;
std::map<std::string, double, std::less<>> g_totals;
}  // namespace

std::atomic<bool> OpProfiler::enabled_{false};

void OpProfiler::enable(bool on) { enabled_.store(on, std::memory_order_relaxed); }

void OpProfiler::record(std::string_view path, double seconds) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_totals.find(path);
  if (it == g_totals.end()) it = g_totals.emplace(std::string(path), 0.0).first;
  it->second += seconds;
}

std::map<std::string, double> OpProfiler::take() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::map<std::string, double> out(g_totals.begin(), g_totals.end());
  g_totals.clear();
  return out;
}

}  // namespace ttt
