// Matmul speed on the host, next to the machine's limits:
//   BM_ReadBandwidth     streaming read of 512 MiB, 8 streams per thread (bytes/s): the ceiling of decode
//   BM_PeakFmaFp32       fp32 FMA throughput, register-resident (FLOP/s)
//   BM_PeakDotBf16       vdpbf16ps throughput, register-resident (FLOP/s)
//   BM_MatmulDecode      rows x 2048 x 8192 GEMV per weight format, 1 or 8 rows (bytes/s of
//                        weights, from DRAM: it cycles through copies of the weights larger
//                        than the L3)
//   BM_GemvL2            rows x 2048 x 256 GEMV, weights in L2, one thread, CPU time: the
//                        kernels' own rate
//   BM_MatmulPrefill     512 x 2048 x 8192 GEMM per weight format and x dtype (FLOP/s)
//   BM_MatmulPrefillOwn  the same on row-major weights with the own kernels, not oneDNN
//   BM_MatmulTensix      32 x 2048 x 2048 on the emulated ttnn:n150 (time)
// The last argument of each is the thread count (BM_GemvL2: one thread). Run with
// --benchmark_counters_tabular=true.
#include <benchmark/benchmark.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "ops/matmul/matmul.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/common.hpp"
#include "ttt/thread_pool.hpp"

namespace {

using namespace ttt;

ThreadPool& pool() {
  static ThreadPool p(2);
  return p;
}

std::vector<float> random_floats(std::size_t n, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// ---------------------------------------------------------------------------------------
// Machine limits
// ---------------------------------------------------------------------------------------

// Sums n floats read as kStreams interleaved sequential streams (a kernel reading many
// weight rows or tiles keeps several streams in flight; one stream alone gets less of
// the memory bandwidth here).
constexpr std::size_t kStreams = 8;

__attribute__((target("avx512f"))) float read_avx512(const float* p, std::size_t n) {
  __m512 s[kStreams];
  for (auto& v : s) v = _mm512_setzero_ps();
  const std::size_t per = n / kStreams;
  for (std::size_t i = 0; i + 32 <= per; i += 32) {
    for (std::size_t q = 0; q < kStreams; ++q) {
      const float* b = p + q * per + i;
      s[q] = _mm512_add_ps(s[q], _mm512_add_ps(_mm512_loadu_ps(b), _mm512_loadu_ps(b + 16)));
    }
  }
  __m512 t = s[0];
  for (std::size_t q = 1; q < kStreams; ++q) t = _mm512_add_ps(t, s[q]);
  return _mm512_reduce_add_ps(t);
}

float read_scalar(const float* p, std::size_t n) {
  float s[8] = {};
  for (std::size_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += p[i + j];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::size_t n = std::size_t{128} << 20;  // floats: 512 MiB
  float* data = static_cast<float*>(std::aligned_alloc(64, n * 4));
  pool().parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e, int) { std::memset(data + b, 0, (e - b) * 4); },
                      threads, 1 << 16);
  const bool avx512 = active_isa() >= IsaLevel::AVX512;
  std::atomic<float> sink{0};
  for (auto _ : state) {
    pool().parallel_for(
        static_cast<int64_t>(n),
        [&](int64_t b, int64_t e, int) {
          const float s = avx512 ? read_avx512(data + b, static_cast<std::size_t>(e - b))
                                 : read_scalar(data + b, static_cast<std::size_t>(e - b));
          sink.store(s, std::memory_order_relaxed);
        },
        threads, 1 << 16);
  }
  benchmark::DoNotOptimize(sink.load());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * 4));
  std::free(data);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

constexpr int64_t kPeakIters = 20'000'000;

__attribute__((target("avx512f"))) float fma_loop(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], b, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512bf16"))) float dot_loop(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi16(0x3F80));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) a[j] = _mm512_dpbf16_ps(a[j], b, b);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

// flop_per_iter: FLOP of one iteration of the loop (12 vectors x 16 lanes x 2 or x 4).
void run_peak(benchmark::State& state, float (*loop)(int64_t), double flop_per_iter, IsaLevel needs) {
  if (cpu_features().best < needs) {
    state.SkipWithError("the host lacks the instructions");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  std::atomic<float> sink{0};
  for (auto _ : state) {
    pool().run(threads, [&](int, int) { sink.store(loop(kPeakIters), std::memory_order_relaxed); });
  }
  benchmark::DoNotOptimize(sink.load());
  state.counters["FLOP/s"] = benchmark::Counter(flop_per_iter * kPeakIters * threads * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void BM_PeakFmaFp32(benchmark::State& state) { run_peak(state, fma_loop, 12.0 * 16 * 2, IsaLevel::AVX512); }
void BM_PeakDotBf16(benchmark::State& state) { run_peak(state, dot_loop, 12.0 * 16 * 4, IsaLevel::AVX512_BF16); }
BENCHMARK(BM_PeakFmaFp32)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PeakDotBf16)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------
// Matmul
// ---------------------------------------------------------------------------------------

struct Setup {
  std::shared_ptr<Device> device;
  ops::MatmulArgs args;
  OpConfig config;
  Tensor x, w, out;
  // Copies of w cycled through so that the weights come from DRAM, as the layers of a
  // model do, and not from the last-level cache.
  std::vector<Tensor> copies;
};

// Enough copies of the weights to exceed the last-level cache three times over.
void add_copies(Setup& s) {
  const int64_t llc = std::max<int64_t>(s.device->spec().l3_bytes, int64_t{32} << 20);
  const int64_t n = std::max<int64_t>(1, 3 * llc / s.w.bytes() + 1);
  s.copies.push_back(s.w);
  for (int64_t i = 1; i < n; ++i) {
    Tensor c = Tensor::empty(s.w.spec());
    std::memcpy(c.raw(), s.w.raw(), static_cast<std::size_t>(s.w.bytes()));
    s.copies.push_back(c);
  }
}

Setup make_setup(const char* device, int64_t m, int64_t k, int64_t n, DataType x_dtype, DataType w_dtype,
                 Layout w_layout) {
  Setup s;
  s.device = Device::open(device);
  const bool ttnn = s.device->spec().is_ttnn();
  const Layout x_layout = ttnn ? Layout::TILE : Layout::ROW_MAJOR;
  s.x = from_float(random_floats(static_cast<std::size_t>(m * k), 1, 1.0f),
                   TensorSpec{"x", Shape{m, k}, x_dtype, x_layout, {}});
  // Tiled host weights in the layout the model stores them in: column panels [n / 32, k, 32].
  const TensorSpec stored =
      w_layout == Layout::TILE ? matmul_weight_spec("w", k, n, w_dtype, s.device->spec())
                               : TensorSpec{"w", Shape{k, n}, w_dtype, w_layout, {}};
  std::vector<float> w = random_floats(static_cast<std::size_t>(k * n), 2, 0.05f);
  if (stored.shape.rank() == 3) {
    const int64_t width = stored.shape[2];
    std::vector<float> panels(w.size());
    for (int64_t p = 0; p < stored.shape[0]; ++p)
      for (int64_t i = 0; i < k; ++i)
        std::copy_n(w.begin() + i * n + p * width, width, panels.begin() + (p * k + i) * width);
    w.swap(panels);
  }
  s.w = from_float(w, stored);
  s.args.x = s.x.spec();
  s.args.weight = s.w.spec();
  s.config.dtype = ttnn ? DataType::BFLOAT16 : DataType::FLOAT32;
  s.config.layout = ttnn ? Layout::TILE : Layout::ROW_MAJOR;
  ops::MatmulOp::validate(s.args, s.config, s.device->spec());
  s.out = Tensor::empty(ops::MatmulOp::output_spec(s.args, s.config));
  return s;
}

void run_matmul(benchmark::State& state, Setup& s, int threads) {
  ops::ExecContext ctx{*s.device, pool(), threads};
  if (s.copies.empty()) s.copies.push_back(s.w);
  ops::MatmulOp::run(s.args, s.x, s.w, nullptr, s.out, s.config, ctx);  // grows scratch
  std::size_t i = 0;
  for (auto _ : state) {
    ops::MatmulOp::run(s.args, s.x, s.copies[i], nullptr, s.out, s.config, ctx);
    i = (i + 1) % s.copies.size();
    benchmark::ClobberMemory();
  }
}

// Weight formats by index: bf16 tiles, bfp8, bfp4, bf16 row-major, fp32 row-major.
std::pair<DataType, Layout> weight_format(int64_t i) {
  switch (i) {
    case 0: return {DataType::BFLOAT16, Layout::TILE};
    case 1: return {DataType::BFLOAT8_B, Layout::TILE};
    case 2: return {DataType::BFLOAT4_B, Layout::TILE};
    case 3: return {DataType::BFLOAT16, Layout::ROW_MAJOR};
    default: return {DataType::FLOAT32, Layout::ROW_MAJOR};
  }
}

// rows: rows of x (decode batch); the weights stream once per call whatever the rows.
void BM_MatmulDecode(benchmark::State& state) {
  const auto [wd, wl] = weight_format(state.range(0));
  const int64_t rows = state.range(1);
  Setup s = make_setup("cpu", rows, 2048, 8192, DataType::FLOAT32, wd, wl);
  add_copies(s);
  run_matmul(state, s, static_cast<int>(state.range(2)));
  state.SetLabel(fmt::format("{} {}", to_string(wd), to_string(wl)));
  state.SetBytesProcessed(state.iterations() * s.w.bytes());
}
BENCHMARK(BM_MatmulDecode)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {1, 8}, {1, 2}})
    ->ArgNames({"format", "rows", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The GEMV kernels alone: rows x 2048 x 256 on one thread with the weights in L2, timed
// by the thread's CPU time (other jobs on the machine do not count): bytes of weights
// per second, what the kernel can do once memory keeps up.
void BM_GemvL2(benchmark::State& state) {
  const auto [wd, wl] = weight_format(state.range(0));
  const int64_t rows = state.range(1);
  Setup s = make_setup("cpu", rows, 2048, 256, DataType::FLOAT32, wd, wl);
  run_matmul(state, s, 1);
  state.SetLabel(fmt::format("{} {}", to_string(wd), to_string(wl)));
  state.SetBytesProcessed(state.iterations() * s.w.bytes());
}
BENCHMARK(BM_GemvL2)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {1, 2, 4, 8, 16}})
    ->ArgNames({"format", "rows"})
    ->Unit(benchmark::kMicrosecond);

// x_dtype 0: BFLOAT16 activations (the bfloat16 GEMM for non-fp32 weights), 1: FLOAT32.
void BM_MatmulPrefill(benchmark::State& state) {
  const auto [wd, wl] = weight_format(state.range(0));
  const DataType xd = state.range(1) == 0 ? DataType::BFLOAT16 : DataType::FLOAT32;
  const int64_t m = 512, k = 2048, n = 8192;
  Setup s = make_setup("cpu", m, k, n, xd, wd, wl);
  run_matmul(state, s, static_cast<int>(state.range(2)));
  state.SetLabel(fmt::format("{} {} x {}", to_string(wd), to_string(wl), to_string(xd)));
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * m * k * n * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatmulPrefill)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1}, {1, 2}})
    ->ArgNames({"format", "x_fp32", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Row-major weights on the own GEMM kernels (explicit blocks) instead of oneDNN.
void BM_MatmulPrefillOwn(benchmark::State& state) {
  const auto [wd, wl] = weight_format(state.range(0));
  const DataType xd = wd == DataType::FLOAT32 ? DataType::FLOAT32 : DataType::BFLOAT16;
  const int64_t m = 512, k = 2048, n = 8192;
  Setup s = make_setup("cpu", m, k, n, xd, wd, wl);
  s.config.kernel_config = CpuKernelConfig{0, 0, 256, 256};
  run_matmul(state, s, static_cast<int>(state.range(1)));
  state.SetLabel(fmt::format("{} {} x {} (own kernels)", to_string(wd), to_string(wl), to_string(xd)));
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * m * k * n * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatmulPrefillOwn)
    ->ArgsProduct({{3, 4}, {1, 2}})
    ->ArgNames({"format", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_MatmulTensix(benchmark::State& state) {
  Setup s = make_setup("ttnn:n150", 32, 2048, 2048, DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE);
  s.config.compute_kernel_config.math_fidelity = static_cast<MathFidelity>(state.range(0));
  run_matmul(state, s, 2);
  state.SetLabel(std::string(to_string(s.config.compute_kernel_config.math_fidelity)));
}
BENCHMARK(BM_MatmulTensix)->Arg(0)->Arg(3)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
