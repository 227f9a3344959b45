// Host bandwidth of the element-wise and norm ops on `cpu`. These ops stream their
// operands once, so the figure of merit is GB/s (bytes read + written per second), to be
// compared with the machine's read bandwidth (DESIGN.md: ~42 GB/s on one thread, ~76 on
// two). A 512x2048 fp32 tensor (4 MiB) stays in a 32 MiB L3 across iterations, so its
// figure is cache bandwidth; 4096x4096 and the 512x8192 operands (16 MiB each, three of
// them) stream from DRAM. Arguments: threads (0 = all), ISA level (0 scalar, 1 AVX2,
// 2 AVX-512).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ops/eltwise/eltwise.hpp"
#include "ops/norm/norm.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/formats.hpp"

namespace {

using namespace ttt;

Device& cpu() {
  static auto d = Device::open("cpu");
  return *d;
}

Tensor random_tensor(const Shape& shape, DataType dtype, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  std::vector<float> v(static_cast<std::size_t>(shape.volume()));
  for (auto& x : v) x = dist(rng);
  return from_float(v, TensorSpec{"x", shape, dtype, Layout::ROW_MAJOR, {}});
}

OpConfig config(DataType dtype) {
  OpConfig c;
  c.dtype = dtype;
  c.layout = Layout::ROW_MAJOR;
  return c;
}

// Sets the ISA limit for one benchmark and restores it afterwards.
class IsaScope {
 public:
  explicit IsaScope(int64_t level) : saved_(active_isa()) { set_isa_limit(static_cast<IsaLevel>(level)); }
  ~IsaScope() { set_isa_limit(saved_); }
  bool honoured(int64_t level) const { return static_cast<int64_t>(active_isa()) >= level; }

 private:
  IsaLevel saved_;
};

void rms_norm(benchmark::State& state, DataType dtype, int64_t rows, int64_t cols) {
  IsaScope isa(state.range(1));
  if (!isa.honoured(state.range(1))) {
    state.SkipWithError("ISA not available on this host");
    return;
  }
  const Shape shape{rows, cols};
  const Tensor x = random_tensor(shape, dtype, 1);
  const Tensor g = random_tensor(Shape{cols}, dtype, 2);
  const ops::RmsNormArgs args{x.spec(), g.spec(), 1e-5f};
  const OpConfig cfg = config(dtype);
  ops::RmsNormOp::validate(args, cfg, cpu().spec());
  Tensor out = Tensor::empty(ops::RmsNormOp::output_spec(args, cfg));
  ops::ExecContext ctx{cpu(), ThreadPool::global(), static_cast<int>(state.range(0))};
  for (auto _ : state) {
    ops::RmsNormOp::run(args, x, &g, out, cfg, ctx);
    benchmark::ClobberMemory();
  }
  // The row is read twice, but the second read hits the cache: count one read, one write.
  state.SetBytesProcessed(state.iterations() * (x.bytes() + out.bytes()));
}

void binary(benchmark::State& state, DataType dtype, ops::BinaryOpType op, UnaryActivation act) {
  IsaScope isa(state.range(1));
  if (!isa.honoured(state.range(1))) {
    state.SkipWithError("ISA not available on this host");
    return;
  }
  const Shape shape{512, 8192};
  const Tensor a = random_tensor(shape, dtype, 3);
  const Tensor b = random_tensor(shape, dtype, 4);
  const ops::BinaryArgs args{a.spec(), b.spec(), op, act};
  const OpConfig cfg = config(dtype);
  ops::BinaryOp::validate(args, cfg, cpu().spec());
  Tensor out = Tensor::empty(ops::BinaryOp::output_spec(args, cfg));
  ops::ExecContext ctx{cpu(), ThreadPool::global(), static_cast<int>(state.range(0))};
  for (auto _ : state) {
    ops::BinaryOp::run(args, a, b, out, cfg, ctx);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * (a.bytes() + b.bytes() + out.bytes()));
}

void silu(benchmark::State& state, DataType dtype) {
  IsaScope isa(state.range(1));
  if (!isa.honoured(state.range(1))) {
    state.SkipWithError("ISA not available on this host");
    return;
  }
  const Shape shape{512, 8192};
  const Tensor x = random_tensor(shape, dtype, 5);
  const ops::UnaryArgs args{x.spec(), UnaryActivation::SILU};
  const OpConfig cfg = config(dtype);
  Tensor out = Tensor::empty(ops::UnaryOp::output_spec(args, cfg));
  ops::ExecContext ctx{cpu(), ThreadPool::global(), static_cast<int>(state.range(0))};
  for (auto _ : state) {
    ops::UnaryOp::run(args, x, out, cfg, ctx);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * (x.bytes() + out.bytes()));
}

// {threads, isa}: one and all threads at the best ISA, and each ISA on one thread.
void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "isa"});
  b->Args({1, 2})->Args({0, 2})->Args({1, 1})->Args({1, 0});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(rms_norm, f32_512x2048, DataType::FLOAT32, 512, 2048)->Apply(args);
BENCHMARK_CAPTURE(rms_norm, bf16_512x2048, DataType::BFLOAT16, 512, 2048)->Apply(args);
// 64 MiB in and out: larger than the last-level cache, so DRAM-bound.
BENCHMARK_CAPTURE(rms_norm, f32_4096x4096, DataType::FLOAT32, 4096, 4096)->Apply(args);
BENCHMARK_CAPTURE(binary, silu_mul_f32_512x8192, DataType::FLOAT32, ops::BinaryOpType::MUL, UnaryActivation::SILU)
    ->Apply(args);
BENCHMARK_CAPTURE(binary, silu_mul_bf16_512x8192, DataType::BFLOAT16, ops::BinaryOpType::MUL, UnaryActivation::SILU)
    ->Apply(args);
BENCHMARK_CAPTURE(binary, add_f32_512x8192, DataType::FLOAT32, ops::BinaryOpType::ADD, UnaryActivation::NONE)
    ->Apply(args);
BENCHMARK_CAPTURE(binary, mul_bf16_512x8192, DataType::BFLOAT16, ops::BinaryOpType::MUL, UnaryActivation::NONE)
    ->Apply(args);
BENCHMARK_CAPTURE(silu, f32_512x8192, DataType::FLOAT32)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
