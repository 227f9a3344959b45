// MLP (SwiGLU) against the double-precision reference, in both modes: cpu with FLOAT32
// and default bf16 weights, ttnn:n150 with its bfloat8_b defaults and with the bfloat4_b
// gate/up weights of optimization_target latency. Thresholds: docs/modules.md.
#include <gtest/gtest.h>

#include "module_reference.hpp"
#include "ttt/modules/mlp.hpp"

namespace ttt {
namespace {

using test::Vec;

struct MlpCase {
  const char* name;
  const char* device;
  std::string yaml;  // hardware config
  int64_t hidden, intermediate;
  double min_pcc;
};

std::shared_ptr<MapWeightSource> mlp_weights(int64_t h, int64_t f) {
  auto w = std::make_shared<MapWeightSource>();
  const float s_in = 1.0f / std::sqrt(static_cast<float>(h)), s_f = 1.0f / std::sqrt(static_cast<float>(f));
  w->add("gate_proj.weight", Shape{f, h}, random_weight(Shape{f, h}, 21, "gate", s_in));
  w->add("up_proj.weight", Shape{f, h}, random_weight(Shape{f, h}, 21, "up", s_in));
  w->add("down_proj.weight", Shape{h, f}, random_weight(Shape{h, f}, 21, "down", s_f));
  return w;
}

class MlpAccuracy : public ::testing::TestWithParam<MlpCase> {};

TEST_P(MlpAccuracy, MatchesReferenceInBothModes) {
  const MlpCase& c = GetParam();
  const MLPSpec spec{c.hidden, c.intermediate, MlpActivation::silu, true, false};
  auto w = mlp_weights(c.hidden, c.intermediate);
  auto device = Device::open(c.device);
  const DeviceSpec& d = device->spec();
  MLP mlp(spec, device, ModuleHardwareConfig::from_yaml_string(c.yaml), w);
  mlp.compile_decode(DecodeShape{3, 64});
  mlp.compile(PrefillShape{2, 24});

  const Shape ps{2, 24, c.hidden};
  const auto xp = test::input_values(static_cast<std::size_t>(ps.volume()), 31);
  const auto yp = to_float(mlp.forward_prefill(test::activation(xp, ps, d)));
  const Vec rp = test::ref_mlp(test::seen(xp, ps, d), 48, spec, *w);
  const double pp = test::pcc_of(yp, rp);
  fmt::print("[pcc] mlp prefill {}: {:.7f} (max abs {:.2e})\n", c.name, pp, test::max_abs_of(yp, rp));
  EXPECT_GE(pp, c.min_pcc);

  // A shorter prompt (one user, 9 tokens) on views of the compiled buffers.
  const Shape ss{1, 9, c.hidden};
  const std::vector<float> xs(xp.begin(), xp.begin() + 9 * c.hidden);
  const auto ys = to_float(mlp.forward_prefill(test::activation(xs, ss, d)));
  EXPECT_GE(test::pcc_of(ys, test::rows_of(rp, c.hidden, 0, 9)), c.min_pcc);

  const Shape ds{1, 3, c.hidden};
  const auto xd = test::input_values(static_cast<std::size_t>(ds.volume()), 32);
  const auto yd = to_float(mlp.forward_decode(test::activation(xd, ds, d)));
  const Vec rd = test::ref_mlp(test::seen(xd, ds, d), 3, spec, *w);
  const double pd = test::pcc_of(yd, rd);
  fmt::print("[pcc] mlp decode {}: {:.7f} (max abs {:.2e})\n", c.name, pd, test::max_abs_of(yd, rd));
  EXPECT_GE(pd, c.min_pcc);
}

const std::string kFp32 = test::fp32_weights_yaml({"ff1_matmul", "ff3_matmul", "ff2_matmul"}, false);

INSTANTIATE_TEST_SUITE_P(Devices, MlpAccuracy,
                         ::testing::Values(MlpCase{"cpu_fp32", "cpu", kFp32, 256, 512, 0.9999},
                                           // Shapes that are not tile multiples run on cpu (tinystories-260k's MLP).
                                           MlpCase{"cpu_fp32_odd", "cpu", kFp32, 64, 172, 0.9999},
                                           MlpCase{"cpu_bf16", "cpu", "", 256, 512, 0.9999},
                                           MlpCase{"n150_bfp8", "ttnn:n150", "", 256, 512, 0.999},
                                           MlpCase{"n150_latency_bfp4", "ttnn:n150", "optimization_target: latency",
                                                   256, 512, 0.97}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MlpConfig, LatencyTargetStoresGateAndUpInBfloat4) {
  MLP mlp(MLPSpec{256, 512, MlpActivation::silu, true, false}, Device::open("ttnn:n150"),
          ModuleHardwareConfig::from_yaml_string("optimization_target: latency"), mlp_weights(256, 512));
  for (Mode mode : enum_values<Mode>()) {
    EXPECT_EQ(mlp.op(mode, "ff1_matmul").config.weights_dtype, DataType::BFLOAT4_B);
    EXPECT_EQ(mlp.op(mode, "ff3_matmul").config.weights_dtype, DataType::BFLOAT4_B);
    EXPECT_EQ(mlp.op(mode, "ff2_matmul").config.weights_dtype, DataType::BFLOAT8_B);
    EXPECT_EQ(mlp.op(mode, "ff1_matmul").config.compute_kernel_config.math_fidelity, MathFidelity::LoFi);
  }
}

}  // namespace
}  // namespace ttt
