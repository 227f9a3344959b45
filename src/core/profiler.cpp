#include "ttt/profiler.hpp"

#include <cstdint>
#include <mutex>

namespace ttt {
namespace {
struct Total {
  double seconds = 0;
  int64_t calls = 0;
};
std::mutex g_mutex;
// Entries are kept when taken (only zeroed): once every op has run, recording allocates
// nothing, so a profiled decode step stays free of heap allocations.
std::map<std::string, Total, std::less<>> g_totals;
}  // namespace

std::atomic<bool> OpProfiler::enabled_{false};

void OpProfiler::enable(bool on) { enabled_.store(on, std::memory_order_relaxed); }

void OpProfiler::record(std::string_view path, double seconds) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_totals.find(path);
  if (it == g_totals.end()) it = g_totals.emplace(std::string(path), Total{}).first;
  it->second.seconds += seconds;
  ++it->second.calls;
}

std::map<std::string, double> OpProfiler::take() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::map<std::string, double> out;
  for (auto& [path, total] : g_totals) {
    if (total.calls > 0) out.emplace(path, total.seconds);
    total = Total{};
  }
  return out;
}

}  // namespace ttt
