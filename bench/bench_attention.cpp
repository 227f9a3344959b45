// Host speed of the attention path on `cpu`: decode attention over a KV cache (the
// per-token cost that dominates generation), chunked causal prefill attention, rotary
// embedding and the KV-cache update. Counters: attended keys per second and the bytes of
// K/V read per second (decode is bound by them).
#include <benchmark/benchmark.h>

#include <vector>

#include "ops/kv_cache/kv_cache.hpp"
#include "ops/rotary/rotary.hpp"
#include "ops/sdpa/sdpa.hpp"
#include "ops/sdpa_decode/sdpa_decode.hpp"
#include "ttt/formats.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

std::vector<float> ramp(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 2654435761u) % 2001) / 1000.f - scale;
  return v;
}

Tensor filled(const TensorSpec& spec, float scale) {
  return from_float(ramp(static_cast<std::size_t>(spec.shape.volume()), scale), spec);
}

OpConfig host_config(int k_chunk = 0, int q_chunk = 0, int threads = 0) {
  OpConfig c;
  c.dtype = DataType::FLOAT32;
  c.layout = Layout::ROW_MAJOR;
  if (k_chunk > 0) c.kernel_config = SdpaConfig{CoreGrid{1, 1}, q_chunk > 0 ? q_chunk : 64, k_chunk, false};
  if (threads > 0) c.kernel_config = CpuKernelConfig{threads, 0, 0, 0};
  return c;
}

// Args: context length, query heads, kv heads, cache dtype (0 fp32, 1 bf16), threads (0 all).
void BM_SdpaDecode(benchmark::State& state) {
  const int64_t ctx_len = state.range(0), nh = state.range(1), nkv = state.range(2), hd = 64, batch = 1;
  const DataType cache_dt = state.range(3) ? DataType::BFLOAT16 : DataType::FLOAT32;
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const TensorSpec cache{"cache", Shape{batch, nkv, ctx_len, hd}, cache_dt, Layout::ROW_MAJOR, {}};
  SdpaDecodeArgs args{TensorSpec{"q", Shape{1, batch, nh, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, cache, cache,
                      std::nullopt, ctx_len};
  const OpConfig cfg = host_config(0, 0, static_cast<int>(state.range(4)));
  SdpaDecodeOp::validate(args, cfg, dev->spec());
  Tensor q = filled(args.q, 1.f), k = filled(cache, 1.f), v = filled(cache, 1.f);
  Tensor out = Tensor::empty(SdpaDecodeOp::output_spec(args, cfg));
  const std::vector<int32_t> pos(static_cast<std::size_t>(batch), static_cast<int32_t>(ctx_len - 1));
  for (auto _ : state) {
    SdpaDecodeOp::run(args, q, k, v, pos, out, cfg, ctx);
    benchmark::ClobberMemory();
  }
  const double kv_bytes = 2.0 * static_cast<double>(batch * nkv * ctx_len * hd * (cache_dt == DataType::FLOAT32 ? 4 : 2));
  state.counters["kv_GB/s"] = benchmark::Counter(kv_bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(4e-9 * static_cast<double>(batch * nh * ctx_len * hd),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SdpaDecode)
    ->ArgNames({"ctx", "nh", "nkv", "bf16", "threads"})
    ->Args({2048, 32, 8, 0, 0})
    ->Args({2048, 32, 32, 0, 0})
    ->Args({2048, 32, 8, 1, 0})
    ->Args({2048, 32, 8, 0, 1})
    ->Args({8192, 32, 8, 1, 0})
    ->Unit(benchmark::kMicrosecond);

// Args: prompt length, query heads, kv heads.
void BM_SdpaPrefill(benchmark::State& state) {
  const int64_t s = state.range(0), nh = state.range(1), nkv = state.range(2), hd = 64;
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  SdpaArgs args{TensorSpec{"q", Shape{1, nh, s, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}},
                TensorSpec{"k", Shape{1, nkv, s, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}},
                TensorSpec{"v", Shape{1, nkv, s, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, true, std::nullopt};
  const OpConfig cfg = host_config();
  SdpaOp::validate(args, cfg, dev->spec());
  Tensor q = filled(args.q, 1.f), k = filled(args.k, 1.f), v = filled(args.v, 1.f);
  Tensor out = Tensor::empty(SdpaOp::output_spec(args, cfg));
  for (auto _ : state) {
    SdpaOp::run(args, q, k, v, out, cfg, ctx);
    benchmark::ClobberMemory();
  }
  const double pairs = static_cast<double>(s) * static_cast<double>(s + 1) / 2.0;
  state.counters["GFLOP/s"] =
      benchmark::Counter(4e-9 * pairs * static_cast<double>(nh * hd), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SdpaPrefill)->ArgNames({"seq", "nh", "nkv"})->Args({512, 32, 8})->Args({2048, 32, 8})->Unit(benchmark::kMillisecond);

void BM_RotaryPrefill(benchmark::State& state) {
  const int64_t s = state.range(0), heads = 32, hd = 64;
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  RotaryArgs args{TensorSpec{"q", Shape{1, heads, s, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}},
                  RotaryMode::PREFILL, 4096};
  const OpConfig cfg = host_config();
  const RotaryTables tables = RotaryTables::build(hd, 4096, {500000.0, Llama3RopeScaling{}});
  Tensor x = filled(args.input, 1.f);
  for (auto _ : state) {
    RotaryOp::run_prefill(args, tables, x, 0, x, cfg, ctx);  // in place
    benchmark::ClobberMemory();
  }
  state.counters["Gvalues/s"] =
      benchmark::Counter(1e-9 * static_cast<double>(heads * s * hd), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RotaryPrefill)->Arg(512)->Unit(benchmark::kMicrosecond);

void BM_UpdateCache(benchmark::State& state) {
  const int64_t batch = state.range(0), nkv = 8, hd = 64, max_seq = 4096;
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const TensorSpec cache{"cache", Shape{batch, nkv, max_seq, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}};
  UpdateCacheArgs args{cache, TensorSpec{"token", Shape{1, batch, nkv, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}};
  const OpConfig cfg = host_config();
  Tensor c = Tensor::empty(cache), token = filled(args.input, 1.f);
  const std::vector<int32_t> pos(static_cast<std::size_t>(batch), 1000);
  for (auto _ : state) {
    UpdateCacheOp::run(args, token, pos, c, cfg, ctx);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_UpdateCache)->Arg(1)->Arg(32)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ttt::ops

BENCHMARK_MAIN();
