// `ttt bench` (run_benchmark) on a tiny random model: every figure it reports is filled
// in, and the machine limits it measures in the same run are named. No timing is
// asserted: only that the measurements exist.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "ttt/cpu_features.hpp"
#include "ttt/models/benchmark.hpp"

namespace ttt {
namespace {

TEST(Benchmark, MeasuresItsOwnPeakAndBandwidthInTheSameRun) {
  BenchOptions o;
  o.spec_name = "tinystories-260k";
  o.prompt_len = 16;
  o.gen = 4;
  o.batch = 2;
  o.profile = true;
  const BenchResult r = run_benchmark(o);
  EXPECT_GT(r.read_bandwidth_gbps, 0);
  EXPECT_LE(r.read_bandwidth_min_gbps, r.read_bandwidth_gbps);
  EXPECT_GE(r.read_bandwidth_max_gbps, r.read_bandwidth_gbps);
  // The tiny model's weights stay in the caches: the probe reads a buffer of its own.
  EXPECT_NE(r.read_probe.find("buffer of its own"), std::string::npos) << r.read_probe;
  EXPECT_GT(r.peak_flops, 0);
  EXPECT_EQ(r.peak_source.rfind("measured ", 0), 0u) << r.peak_source;
  EXPECT_GT(r.prefill_flops, 0);
  EXPECT_DOUBLE_EQ(r.prefill_flops_fraction, r.prefill_flops / r.peak_flops);
  EXPECT_GT(r.bandwidth_fraction, 0);
  EXPECT_LE(r.bandwidth_fraction_min, r.bandwidth_fraction);
  EXPECT_GE(r.bandwidth_fraction_max, r.bandwidth_fraction);
  EXPECT_DOUBLE_EQ(r.overall_bandwidth_fraction, r.achieved_gbps / r.read_bandwidth_gbps);
  EXPECT_FALSE(r.profile_s.empty());
  EXPECT_FALSE(r.prefill_profile_s.empty());
  const auto j = nlohmann::json::parse(r.json());
  EXPECT_EQ(j.at("peak_source"), r.peak_source);
  EXPECT_DOUBLE_EQ(j.at("bandwidth_fraction_min").get<double>(), r.bandwidth_fraction_min);
  EXPECT_NE(r.str().find("decode step by step: median"), std::string::npos) << r.str();
  EXPECT_NE(r.str().find("GFLOP/s peak (measured"), std::string::npos) << r.str();
  EXPECT_NE(r.str().find("decode profile by op, all layers"), std::string::npos) << r.str();
  EXPECT_NE(r.str().find("layers.*."), std::string::npos) << r.str();
}

// The profile summed over the layers: one row per op of a layer, the rest as they are.
TEST(Benchmark, ProfileByOpSumsTheLayers) {
  const std::map<std::string, double> p = {{"layers.0.mlp.ff1_matmul", 1.0},
                                           {"layers.12.mlp.ff1_matmul", 2.0},
                                           {"layers.3.attention.sdpa", 0.5},
                                           {"lm_head.lm_head_matmul", 4.0},
                                           {"layers.x.odd", 0.25}};
  const auto g = profile_by_op(p);
  EXPECT_EQ(g.size(), 4u);
  EXPECT_DOUBLE_EQ(g.at("layers.*.mlp.ff1_matmul"), 3.0);
  EXPECT_DOUBLE_EQ(g.at("layers.*.attention.sdpa"), 0.5);
  EXPECT_DOUBLE_EQ(g.at("lm_head.lm_head_matmul"), 4.0);
  EXPECT_DOUBLE_EQ(g.at("layers.x.odd"), 0.25);
}

TEST(Benchmark, PeakInstructionFollowsTheIsaLevel) {
  const MachinePeak bf16 = measure_compute_peak(true, 1);
  const MachinePeak fp32 = measure_compute_peak(false, 1);
  EXPECT_GT(bf16.flops, 0);
  EXPECT_GT(fp32.flops, 0);
  if (active_isa() >= IsaLevel::AVX512_BF16) {
    EXPECT_NE(bf16.instruction.find("vdpbf16ps"), std::string::npos) << bf16.instruction;
  }
  EXPECT_EQ(fp32.instruction.find("vdpbf16ps"), std::string::npos) << fp32.instruction;
}

}  // namespace
}  // namespace ttt
