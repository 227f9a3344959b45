// Host format conversions of a 2048 x 2048 tensor: float32 -> {bfloat16, bfloat8_b,
// bfloat4_b} in TILE layout (tilize included) and back. Bytes are float32 bytes moved.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ttt/formats.hpp"

namespace {

constexpr int64_t kRows = 2048;
constexpr int64_t kCols = 2048;

const std::vector<float>& input_values() {
  static const std::vector<float> values = [] {
    std::vector<float> v(static_cast<std::size_t>(kRows * kCols));
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    for (float& x : v) x = dist(rng);
    return v;
  }();
  return values;
}

ttt::TensorSpec spec_for(ttt::DataType dtype) {
  return ttt::TensorSpec{.name = "w", .shape = {kRows, kCols}, .dtype = dtype, .layout = ttt::Layout::TILE};
}

void BM_Pack(benchmark::State& state, ttt::DataType dtype) {
  const std::vector<float>& values = input_values();
  for (auto _ : state) {
    ttt::Tensor t = ttt::from_float(values, spec_for(dtype));
    benchmark::DoNotOptimize(t.raw());
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * static_cast<int64_t>(sizeof(float)));
}

void BM_Unpack(benchmark::State& state, ttt::DataType dtype) {
  const ttt::Tensor t = ttt::from_float(input_values(), spec_for(dtype));
  std::vector<float> out(static_cast<std::size_t>(kRows * kCols));
  for (auto _ : state) {
    ttt::to_float(t, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * static_cast<int64_t>(sizeof(float)));
}

BENCHMARK_CAPTURE(BM_Pack, bfloat16, ttt::DataType::BFLOAT16)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pack, bfloat8_b, ttt::DataType::BFLOAT8_B)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pack, bfloat4_b, ttt::DataType::BFLOAT4_B)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Unpack, bfloat16, ttt::DataType::BFLOAT16)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Unpack, bfloat8_b, ttt::DataType::BFLOAT8_B)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Unpack, bfloat4_b, ttt::DataType::BFLOAT4_B)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
