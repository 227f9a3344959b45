// The host's arithmetic peak, measured: register-resident loops of the instruction the
// matmul kernels multiply with (`ttt bench` reports prefill as a fraction of it, next to
// the read bandwidth it measures the same way).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "ttt/cpu_features.hpp"
#include "ttt/models/benchmark.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {
namespace {

// Independent accumulators per loop: more than the latency times the issue rate of the
// multiply-add units, so that throughput, not latency, is measured.
constexpr int kAccumulators = 12;

// Each returns the FLOP it did (a product and a sum count two, per lane).
__attribute__((target("avx512f,avx512bf16"))) double dot_bf16_loop(int64_t iters, float* sink) {
  __m512 a[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi16(0x3F80));  // bfloat16 1.0
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAccumulators; ++j) a[j] = _mm512_dpbf16_ps(a[j], b, b);
  }
  __m512 s = a[0];
  for (int i = 1; i < kAccumulators; ++i) s = _mm512_add_ps(s, a[i]);
  *sink = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * kAccumulators * 16 * 4;
}

__attribute__((target("avx512f"))) double fma_avx512_loop(int64_t iters, float* sink) {
  __m512 a[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAccumulators; ++j) a[j] = _mm512_fmadd_ps(a[j], b, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < kAccumulators; ++i) s = _mm512_add_ps(s, a[i]);
  *sink = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * kAccumulators * 16 * 2;
}

__attribute__((target("avx2,fma"))) double fma_avx2_loop(int64_t iters, float* sink) {
  __m256 a[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) a[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAccumulators; ++j) a[j] = _mm256_fmadd_ps(a[j], b, c);
  }
  alignas(32) float lanes[8];
  __m256 s = a[0];
  for (int i = 1; i < kAccumulators; ++i) s = _mm256_add_ps(s, a[i]);
  _mm256_store_ps(lanes, s);
  *sink = lanes[0] + lanes[7];
  return static_cast<double>(iters) * kAccumulators * 8 * 2;
}

double scalar_loop(int64_t iters, float* sink) {
  float a[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) a[i] = static_cast<float>(i);
  for (int64_t i = 0; i < iters; ++i)
    for (float& v : a) v = v * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : a) s += v;
  *sink = s;
  return static_cast<double>(iters) * kAccumulators * 2;
}

}  // namespace

MachinePeak measure_compute_peak(bool bf16, int threads) {
  ThreadPool& pool = ThreadPool::global();
  const IsaLevel isa = active_isa();
  MachinePeak p;
  double (*loop)(int64_t, float*) = scalar_loop;
  if (bf16 && isa >= IsaLevel::AVX512_BF16) {
    loop = dot_bf16_loop, p.instruction = "vdpbf16ps (AVX512-BF16)";
  } else if (isa >= IsaLevel::AVX512) {
    loop = fma_avx512_loop, p.instruction = "fp32 FMA (AVX-512)";
  } else if (isa >= IsaLevel::AVX2) {
    loop = fma_avx2_loop, p.instruction = "fp32 FMA (AVX2)";
  } else {
    p.instruction = "fp32 multiply-add (scalar)";
  }
  const int n = threads > 0 ? std::min(threads, pool.size()) : pool.size();
  constexpr int64_t kIters = 2'000'000;  // about 10 ms per pass at a few GHz
  std::vector<float> sinks(static_cast<std::size_t>(n) * 16);
  std::vector<double> flop(static_cast<std::size_t>(n));
  for (int pass = 0; pass < 5; ++pass) {  // the best pass: other jobs may share the cores
    const auto t0 = std::chrono::steady_clock::now();
    pool.run(n, [&](int t, int) {
      flop[static_cast<std::size_t>(t)] = loop(kIters, &sinks[static_cast<std::size_t>(t) * 16]);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double total = 0;
    for (double f : flop) total += f;
    p.flops = std::max(p.flops, total / s);
  }
  return p;
}

}  // namespace ttt
