// The ready-made progress reporter: a bar on stderr while weights are being built.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "ttt/tensor_cache.hpp"

namespace ttt {

namespace {

constexpr int kBarWidth = 24;
constexpr double kRedrawSeconds = 0.1;  // a redraw per weight would flood a slow terminal

std::string megabytes(int64_t bytes) { return fmt::format("{:.1f}", static_cast<double>(bytes) / 1e6); }

std::string bar_line(const CacheProgress& p) {
  std::string line;
  if (p.tensors_expected > 0) {
    // Bytes give the fairer fraction (one embedding outweighs many norms); fall back to
    // counts when no byte total was given.
    const double frac = std::clamp(p.bytes_expected > 0 ? static_cast<double>(p.bytes_done) / p.bytes_expected
                                                        : static_cast<double>(p.tensors_done) / p.tensors_expected,
                                   0.0, 1.0);
    const int filled = static_cast<int>(frac * kBarWidth + 0.5);
    line = fmt::format("[{}{}] {:3.0f}%  {}/{} tensors", std::string(filled, '#'), std::string(kBarWidth - filled, '.'),
                       frac * 100.0, p.tensors_done, p.tensors_expected);
  } else {
    line = fmt::format("{} tensors", p.tensors_done);
  }
  line += p.bytes_expected > 0 ? fmt::format("  {}/{} MB", megabytes(p.bytes_done), megabytes(p.bytes_expected))
                               : fmt::format("  {} MB", megabytes(p.bytes_done));
  const double rate = p.seconds_building > 0 ? static_cast<double>(p.bytes_built) / 1e6 / p.seconds_building : 0.0;
  line += fmt::format("  building {:.1f} MB/s", rate);
  if (!p.tensor.empty()) {
    constexpr std::size_t kMaxName = 48;
    const std::string_view name = p.tensor.size() > kMaxName ? p.tensor.substr(p.tensor.size() - kMaxName) : p.tensor;
    line += fmt::format("  {}", name);
  }
  return line;
}

}  // namespace

CacheProgressFn stderr_progress_bar(bool enabled) {
  if (!enabled) return {};
  struct State {
    bool tty = ::isatty(STDERR_FILENO) == 1;
    bool drawn = false;
    std::chrono::steady_clock::time_point last{};
  };
  auto state = std::make_shared<State>();
  return [state](const CacheProgress& p) {
    // Silent while everything comes from the cache: a warm start prints nothing.
    if (p.tensors_built == 0) return;
    const auto now = std::chrono::steady_clock::now();
    const bool last = p.finished || (p.tensors_expected > 0 && p.tensors_done >= p.tensors_expected);
    if (state->tty &&
        (last || !state->drawn || std::chrono::duration<double>(now - state->last).count() >= kRedrawSeconds)) {
      // \r and erase-to-end-of-line redraw in place; logs (not a tty) get only the summary.
      fmt::print(stderr, "\r\x1b[Kttt: cache {}", bar_line(p));
      std::fflush(stderr);
      state->drawn = true;
      state->last = now;
    }
    if (p.finished) {
      if (state->drawn) fmt::print(stderr, "\n");
      const double rate = p.seconds_building > 0 ? static_cast<double>(p.bytes_built) / 1e6 / p.seconds_building : 0.0;
      fmt::print(stderr, "ttt: cache built {} tensor(s), {} MB in {:.2f} s ({:.1f} MB/s); {} loaded from the cache\n",
                 p.tensors_built, megabytes(p.bytes_built), p.seconds_building, rate, p.tensors_done - p.tensors_built);
      state->drawn = false;
    }
  };
}

}  // namespace ttt
