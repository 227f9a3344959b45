#include <gtest/gtest.h>

#include "ttt/cost_model.hpp"

namespace ttt {
namespace {

TEST(CostModel, MatmulComputeScalesWithFidelityPhases) {
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  CostInputs in;
  in.matmul_flops = 1e12;
  in.fidelity = MathFidelity::LoFi;
  const Cost lofi = estimate_cost(in, n150);
  in.fidelity = MathFidelity::HiFi4;
  const Cost hifi4 = estimate_cost(in, n150);
  EXPECT_NEAR(hifi4.compute_s / lofi.compute_s, 4.0, 1e-9);
  EXPECT_EQ(lofi.bound(), CostBound::COMPUTE);
}

TEST(CostModel, WeightStreamingIsDramBound) {
  // A decode GEMV: 2048x8192 bfloat8_b weights read once, 2 FLOP per weight.
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  CostInputs in;
  in.matmul_flops = 2.0 * 2048 * 8192 * 32;  // one tile row of activations
  in.dram_read_bytes = 2048.0 * 8192 * 1088 / 1024;
  in.fidelity = MathFidelity::HiFi2;
  const Cost c = estimate_cost(in, n150);
  EXPECT_EQ(c.bound(), CostBound::DRAM);
  // Never faster than the measured bandwidth (achieved fractions: docs/cost_model.md).
  EXPECT_GE(c.dram_s, in.dram_read_bytes / (n150.dram_gbps_measured * 1e9));
  EXPECT_LT(c.dram_s, 2 * in.dram_read_bytes / (n150.dram_gbps_measured * 1e9));
  EXPECT_GT(c.total_s(), c.dram_s);  // dispatch adds
}

// The published Blackhole decode figures imply less than its measured bandwidth
// (docs/cost_model.md); still faster than a Wormhole chip's.
TEST(CostModel, BlackholeStreamsBelowItsMeasuredBandwidth) {
  CostInputs in;
  in.dram_read_bytes = 1e9;
  const Cost p150 = estimate_cost(in, Device::spec_for("ttnn:p150"));
  const Cost n150 = estimate_cost(in, Device::spec_for("ttnn:n150"));
  EXPECT_GT(p150.dram_s, in.dram_read_bytes / 500e9);
  EXPECT_LT(p150.dram_s, n150.dram_s);
}

TEST(CostModel, FewerCoresTakeLonger) {
  const DeviceSpec p150 = Device::spec_for("ttnn:p150");
  CostInputs in;
  in.matmul_flops = 1e11;
  const double all = estimate_cost(in, p150).compute_s;
  in.cores = 11;
  EXPECT_NEAR(estimate_cost(in, p150).compute_s / all, 10.0, 1e-9);
}

TEST(CostModel, CollectivesAddToTheTotal) {
  const DeviceSpec t3k = Device::spec_for("ttnn:t3k");
  CostInputs in;
  in.collective_bytes = 1 << 20;
  in.collective_steps = 7;
  const Cost c = estimate_cost(in, t3k);
  EXPECT_GT(c.collective_s, 7 * 1e-6);
  EXPECT_EQ(c.bound(), CostBound::COLLECTIVE);
}

TEST(CostModel, CpuModelUsesHostPeak) {
  const DeviceSpec cpu = host_cpu_spec();
  CostInputs in;
  in.matmul_flops = 1e10;
  in.math_dtype = DataType::FLOAT32;
  const Cost c = estimate_cost(in, cpu);
  EXPECT_GT(c.compute_s, 0.0);
  EXPECT_LT(c.compute_s, 10.0);
}

}  // namespace
}  // namespace ttt
