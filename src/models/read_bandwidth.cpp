#include "models/read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include <immintrin.h>

#include "ttt/cpu_features.hpp"
#include "ttt/error.hpp"
#include "ttt/models/benchmark.hpp"

namespace ttt {
namespace bench_detail {
namespace {

using Clock = std::chrono::steady_clock;

// Sums of `streams` interleaved sequential streams over [p, p + n) floats, with wide loads
// and an accumulator per stream, so that loads, not adds, are the limit.
__attribute__((target("avx512f"))) float sum_avx512(const float* p, int64_t n, int streams) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  const int64_t per = n / streams / 32 * 32;
  for (int64_t i = 0; i < per; i += 32) {
    for (int s = 0; s < streams; ++s) {
      const float* b = p + s * per + i;
      acc[s] = _mm512_add_ps(acc[s], _mm512_add_ps(_mm512_loadu_ps(b), _mm512_loadu_ps(b + 16)));
    }
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  float r = 0;
  for (float v : lanes) r += v;
  for (int64_t i = per * streams; i < n; ++i) r += p[i];
  return r;
}

__attribute__((target("avx2"))) float sum_avx2(const float* p, int64_t n, int streams) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const int64_t per = n / streams / 16 * 16;
  for (int64_t i = 0; i < per; i += 16) {
    for (int s = 0; s < streams; ++s) {
      const float* b = p + s * per + i;
      acc[s] = _mm256_add_ps(acc[s], _mm256_add_ps(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8)));
    }
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  float r = 0;
  for (float v : lanes) r += v;
  for (int64_t i = per * streams; i < n; ++i) r += p[i];
  return r;
}

float sum_scalar(const float* p, int64_t n, int /*streams*/) {
  float s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) s[k] += p[i + k];
  for (; i < n; ++i) s[0] += p[i];
  return s[0] + s[1] + s[2] + s[3];
}

float (*sum_kernel())(const float*, int64_t, int) {
  const IsaLevel isa = active_isa();
  return isa >= IsaLevel::AVX512 ? sum_avx512 : isa == IsaLevel::AVX2 ? sum_avx2 : sum_scalar;
}

// Reads whole floats of [p, p + bytes) split over the threads; keeps the sums alive.
void read_range(ThreadPool& pool, const std::byte* p, std::size_t bytes, int threads, int streams) {
  static float sink[64 * 16];
  const auto* f = reinterpret_cast<const float*>(p);
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  auto sum = sum_kernel();
  pool.run(threads > 0 ? std::min(threads, pool.size()) : pool.size(), [&](int t, int nt) {
    const int64_t b = n * t / nt / 16 * 16, e = t + 1 == nt ? n : n * (t + 1) / nt / 16 * 16;
    sink[(t % 64) * 16] += sum(f + b, e - b, streams);
  });
}

}  // namespace

double timed_read(ThreadPool& pool, const std::byte* p, std::size_t bytes, int threads, int streams) {
  const auto t0 = Clock::now();
  read_range(pool, p, bytes, threads, streams);
  return static_cast<double>(bytes) / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
}

void WeightReadProbe::add(const Tensor& t) {
  if (t.bytes() < (int64_t{1} << 20)) return;
  tensors_.push_back(t);
  segments_.emplace_back(t.raw(), static_cast<std::size_t>(t.bytes()));
  total_ += static_cast<std::size_t>(t.bytes());
}

double WeightReadProbe::read_window(ThreadPool& pool, std::size_t window_bytes, int threads, int streams) {
  std::size_t done = 0;
  const auto t0 = Clock::now();
  while (done < window_bytes) {
    const auto& s = segments_[seg_];
    const std::size_t len = std::min(s.size() - offset_, window_bytes - done);
    read_range(pool, s.data() + offset_, len, threads, streams);
    done += len;
    offset_ += len;
    if (offset_ == s.size()) offset_ = 0, seg_ = (seg_ + 1) % segments_.size();
  }
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
}

double WeightReadProbe::measure(ThreadPool& pool, std::size_t window_bytes, int threads) {
  if (segments_.empty()) return 0;
  window_bytes = std::min(window_bytes, total_ / 2);
  const double one = read_window(pool, window_bytes, threads, 1);
  const double four = read_window(pool, window_bytes, threads, 4);
  return std::max(one, four);
}

StepFractions step_bandwidth_fractions(std::span<const double> step_seconds, std::span<const double> probes_gbps,
                                       double bytes_per_step) {
  TTT_CHECK(probes_gbps.size() == 1 || probes_gbps.size() == step_seconds.size(), InvalidConfig,
            "bench: {} read probes for {} decode steps; need one, or one per step", probes_gbps.size(),
            step_seconds.size());
  std::vector<double> f;
  f.reserve(step_seconds.size());
  for (std::size_t i = 0; i < step_seconds.size(); ++i) {
    const double probe = probes_gbps[probes_gbps.size() == 1 ? 0 : i];
    f.push_back(bytes_per_step / step_seconds[i] / 1e9 / probe);
  }
  if (f.empty()) return {};
  std::sort(f.begin(), f.end());
  return {f[f.size() / 2], f.front(), f.back()};
}

}  // namespace bench_detail

double measure_read_bandwidth_gbps(int threads, std::size_t bytes) {
  ThreadPool& pool = ThreadPool::global();
  auto buf = std::make_unique<float[]>(bytes / sizeof(float));
  const auto* p = reinterpret_cast<const std::byte*>(buf.get());
  pool.parallel_for(static_cast<int64_t>(bytes / sizeof(float)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) buf[static_cast<std::size_t>(i)] = static_cast<float>(i & 7);
  }, threads);
  double best = 0;
  for (int pass = 0; pass < 6; ++pass)
    best = std::max(best, bench_detail::timed_read(pool, p, bytes, threads, pass % 2 == 0 ? 1 : 4));
  return best;
}

}  // namespace ttt
