#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "elementwise_test_util.hpp"
#include "ops/eltwise/eltwise.hpp"

namespace ttt::test {
namespace {

using ops::BinaryArgs;
using ops::BinaryOp;
using ops::BinaryOpType;
using ops::UnaryArgs;
using ops::UnaryOp;

double act_ref(UnaryActivation act, double x) {
  switch (act) {
    case UnaryActivation::SILU: return x / (1.0 + std::exp(-x));
    case UnaryActivation::RELU: return x > 0 ? x : 0.0;
    default: return x;
  }
}

std::vector<double> binary_ref(const std::vector<double>& a, const std::vector<double>& b, BinaryOpType op,
                               UnaryActivation act) {
  std::vector<double> y(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = act_ref(act, a[i]);
    const double bi = b[i % b.size()];
    y[i] = op == BinaryOpType::ADD ? x + bi : x * bi;
  }
  return y;
}

Tensor run_binary(const BinaryArgs& args, const Tensor& a, const Tensor& b, const OpConfig& cfg, Device& dev) {
  BinaryOp::validate(args, cfg, dev.spec());
  Tensor out = Tensor::empty(BinaryOp::output_spec(args, cfg));
  auto ctx = context(dev);
  BinaryOp::run(args, a, b, out, cfg, ctx);
  return out;
}

struct Format {
  DataType dtype;
  Layout layout;
};

struct HostCase {
  Format a, b, out;
  double rel_atol;
};

TEST(EltwiseHost, BinaryOpsWithBroadcastOnEveryIsa) {
  Device& cpu = *device("cpu");
  const std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3, 64}, {2, 3, 64}},
                                                       {{2, 5, 172}, {172}},
                                                       {{1, 3, 2055}, {1, 1, 2055}},
                                                       {{4, 100}, {1}},
                                                       {{2, 9, 40}, {9, 40}}};
  const std::vector<HostCase> cases = {
      {{DataType::FLOAT32, Layout::ROW_MAJOR},
       {DataType::FLOAT32, Layout::ROW_MAJOR},
       {DataType::FLOAT32, Layout::ROW_MAJOR},
       1e-6},
      {{DataType::BFLOAT16, Layout::ROW_MAJOR},
       {DataType::BFLOAT16, Layout::ROW_MAJOR},
       {DataType::BFLOAT16, Layout::ROW_MAJOR},
       1.0 / 128},
      {{DataType::BFLOAT16, Layout::TILE},
       {DataType::FLOAT32, Layout::ROW_MAJOR},
       {DataType::FLOAT32, Layout::ROW_MAJOR},
       1e-6},
      {{DataType::BFLOAT8_B, Layout::TILE},
       {DataType::BFLOAT16, Layout::TILE},
       {DataType::BFLOAT16, Layout::TILE},
       1.0 / 128},
  };
  const std::vector<std::pair<BinaryOpType, UnaryActivation>> ops = {{BinaryOpType::ADD, UnaryActivation::NONE},
                                                                     {BinaryOpType::MUL, UnaryActivation::NONE},
                                                                     {BinaryOpType::MUL, UnaryActivation::SILU},
                                                                     {BinaryOpType::ADD, UnaryActivation::RELU}};
  IsaSweep isa;
  uint64_t seed = 1;
  for (const auto& [sa, sb] : shapes) {
    const auto av = random_values(static_cast<std::size_t>(sa.volume()), seed++, -4.f, 4.f);
    const auto bv = random_values(static_cast<std::size_t>(sb.volume()), seed++, -2.f, 2.f);
    for (const HostCase& c : cases) {
      const Tensor a = make_tensor(av, sa, c.a.dtype, c.a.layout, "a");
      const Tensor b = make_tensor(bv, sb, c.b.dtype, c.b.layout, "b");
      const auto aq = quantized(av, sa, c.a.dtype, c.a.layout);
      const auto bq = quantized(bv, sb, c.b.dtype, c.b.layout);
      for (const auto& [op, act] : ops) {
        SCOPED_TRACE(sa.str() + " x " + sb.str() + " " + std::string(to_string(c.a.dtype)) + " " +
                     std::string(to_string(op)) + " " + std::string(to_string(act)));
        const BinaryArgs args{a.spec(), b.spec(), op, act};
        const auto ref = binary_ref(aq, bq, op, act);
        std::vector<float> first;
        for (IsaLevel level : isa.levels()) {
          set_isa_limit(level);
          const auto y = to_float(run_binary(args, a, b, host_config(c.out.dtype, c.out.layout), cpu));
          EXPECT_LE(max_abs_diff(y, ref), c.rel_atol * max_abs(ref)) << to_string(level);
          EXPECT_GE(pcc(y, ref), c.rel_atol < 1e-3 ? 0.99999 : 0.999) << to_string(level);
          if (first.empty()) first = y;
          EXPECT_LE(max_abs_diff(y, to_double(first)), 2 * c.rel_atol * max_abs(ref)) << to_string(level);
        }
      }
    }
  }
}

TEST(EltwiseHost, UnarySiluAndRelu) {
  Device& cpu = *device("cpu");
  IsaSweep isa;
  for (const Shape& shape : {Shape{3, 64}, Shape{2, 5, 172}, Shape{1, 2055}}) {
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), 9, -30.f, 30.f);
    for (UnaryActivation act : {UnaryActivation::SILU, UnaryActivation::RELU}) {
      for (DataType dt : {DataType::FLOAT32, DataType::BFLOAT16}) {
        SCOPED_TRACE(shape.str() + " " + std::string(to_string(act)) + " " + std::string(to_string(dt)));
        const Tensor x = make_tensor(xv, shape, dt, Layout::ROW_MAJOR, "x");
        const auto xq = quantized(xv, shape, dt, Layout::ROW_MAJOR);
        std::vector<double> ref(xq.size());
        for (std::size_t i = 0; i < xq.size(); ++i) ref[i] = act_ref(act, xq[i]);
        const UnaryArgs args{x.spec(), act};
        const OpConfig cfg = host_config(dt, Layout::ROW_MAJOR);
        for (IsaLevel level : isa.levels()) {
          set_isa_limit(level);
          UnaryOp::validate(args, cfg, cpu.spec());
          Tensor out = Tensor::empty(UnaryOp::output_spec(args, cfg));
          auto ctx = context(cpu);
          UnaryOp::run(args, x, out, cfg, ctx);
          const auto y = to_float(out);
          // Elementwise relative bound: silu's exp is within a few ulp on every path.
          for (std::size_t i = 0; i < y.size(); ++i) {
            const double tol = dt == DataType::FLOAT32 ? 1e-6 * std::abs(ref[i]) + 1e-30 : std::abs(ref[i]) / 128;
            ASSERT_LE(std::abs(y[i] - ref[i]), tol) << "x=" << xq[i] << " " << to_string(level);
          }
        }
      }
    }
  }
}

TEST(EltwiseTtnn, N150Bf16TileFollowsTheDeviceModel) {
  Device& n150 = *device("ttnn:n150");
  const Shape shape{2, 37, 172};
  const auto av = random_values(static_cast<std::size_t>(shape.volume()), 21, -4.f, 4.f);
  const auto bv = random_values(static_cast<std::size_t>(shape.volume()), 22, -2.f, 2.f);
  const Tensor a = make_tensor(av, shape, DataType::BFLOAT16, Layout::TILE, "a");
  const Tensor b = make_tensor(bv, shape, DataType::BFLOAT16, Layout::TILE, "b");
  const auto aq = to_float(a), bq = to_float(b);
  // add: the dest and the output both round to bf16, so the result is bf16(a + b) exactly.
  {
    const auto y = to_float(run_binary({a.spec(), b.spec(), BinaryOpType::ADD}, a, b, device_config(), n150));
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], bfloat16_to_float(float_to_bfloat16(aq[i] + bq[i])));
  }
  // silu(a) * b: silu is held in dest (bf16 unless fp32_dest_acc_en), then multiplied on
  // the FPU: at HiFi4 srcA keeps 9 explicit mantissa bits, srcB 10 (b is bf16: exact).
  for (bool f32 : {false, true}) {
    SCOPED_TRACE(f32 ? "fp32 dest" : "bf16 dest");
    OpConfig cfg = device_config(DataType::FLOAT32, MathFidelity::HiFi4, f32);
    const auto y =
        to_float(run_binary({a.spec(), b.spec(), BinaryOpType::MUL, UnaryActivation::SILU}, a, b, cfg, n150));
    for (std::size_t i = 0; i < y.size(); ++i) {
      float s = aq[i] / (1.f + std::exp(-aq[i]));
      if (!f32) s = bfloat16_to_float(float_to_bfloat16(s));
      const float s_src = std::bit_cast<float>(std::bit_cast<uint32_t>(s) & 0xFFFFC000u);
      float p = static_cast<float>(static_cast<double>(s_src) * bq[i]);
      if (!f32) p = bfloat16_to_float(float_to_bfloat16(p));
      ASSERT_EQ(y[i], p) << i;
    }
    const auto ref = binary_ref(to_double(aq), to_double(bq), BinaryOpType::MUL, UnaryActivation::SILU);
    EXPECT_GE(pcc(y, ref), f32 ? 0.99999 : 0.9999);
  }
}

TEST(EltwiseValidation, EachErrorOnce) {
  const DeviceSpec cpu = device("cpu")->spec();
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec a{"a", Shape{2, 32, 2048}, DataType::BFLOAT16, Layout::TILE, {}};
  const TensorSpec bias{"bias", Shape{2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  BinaryOp::validate({a, bias, BinaryOpType::ADD}, device_config(), n150);
  expect_error(
      [&] {
        BinaryOp::validate({a, TensorSpec{"b", Shape{1, 7, 2048}}, BinaryOpType::MUL}, device_config(), n150);
      },
      ErrorKind::ShapeMismatch, {"mul", "[1, 7, 2048]", "[2, 32, 2048]", "args.b"});
  expect_error(
      [&] {
        BinaryOp::validate({a, bias, BinaryOpType::MUL, UnaryActivation::GELU}, device_config(), n150);
      },
      ErrorKind::Unsupported, {"GELU", "args.a_activation"});
  expect_error(
      [&] {
        UnaryOp::validate({a, UnaryActivation::NONE}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"activation NONE", "SILU or RELU"});
  expect_error(
      [&] {
        UnaryOp::validate({a, UnaryActivation::SILU}, host_config(DataType::BFLOAT8_B), cpu);
      },
      ErrorKind::InvalidConfig, {"silu", "BFLOAT8_B", "TILE"});
  OpConfig cfg = device_config();
  cfg.kernel_config = NormConfig{};
  expect_error(
      [&] {
        BinaryOp::validate({a, bias, BinaryOpType::ADD}, cfg, n150);
      },
      ErrorKind::InvalidConfig, {"add", "'norm'", "kernel_config"});
  TensorSpec ai = a;
  ai.dtype = DataType::UINT32;
  expect_error(
      [&] {
        BinaryOp::validate({ai, bias, BinaryOpType::ADD}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"a dtype UINT32"});
  // run() checks its tensors against the validated specs.
  const Tensor small = Tensor::empty(TensorSpec{"a", Shape{2, 4}, DataType::FLOAT32, Layout::ROW_MAJOR, {}});
  const BinaryArgs args{TensorSpec{"a", Shape{2, 8}}, TensorSpec{"b", Shape{8}}, BinaryOpType::ADD};
  Tensor out = Tensor::empty(BinaryOp::output_spec(args, host_config()));
  auto ctx = context(*device("cpu"));
  expect_error([&] { BinaryOp::run(args, small, small, out, host_config(), ctx); }, ErrorKind::ShapeMismatch,
               {"[2, 4]", "[2, 8]"});
}

TEST(EltwiseCost, SiluMulIsBandwidthBoundOnN150) {
  const TensorSpec a{"a", Shape{1, 32, 8192}, DataType::BFLOAT16, Layout::TILE, {}};
  const Cost c =
      BinaryOp::cost({a, a, BinaryOpType::MUL, UnaryActivation::SILU}, device_config(), device("ttnn:n150")->spec());
  EXPECT_GT(c.dram_s, 0.0);
  EXPECT_GT(c.total_s(), c.dispatch_s);
}

// ttnn's element-wise ops split their tiles over the grid: one tile row of 64 tiles runs
// on 64 cores, as fast as 16 tiles on 16; four times the tiles on the same cores take
// four times as long.
TEST(EltwiseCost, SpreadsTilesOverTheGrid) {
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  auto l1_time = [&](int64_t width) {
    const TensorSpec a{"a", Shape{1, 32, width}, DataType::BFLOAT16, Layout::TILE, kL1Interleaved};
    OpConfig cfg = device_config();
    cfg.memory_config = kL1Interleaved;
    return BinaryOp::cost({a, a, BinaryOpType::ADD}, cfg, n150).l1_s;
  };
  EXPECT_GT(l1_time(512), 0.0);
  EXPECT_NEAR(l1_time(2048), l1_time(512), 1e-12);        // 16 tiles on 16 cores, 64 on 64
  EXPECT_NEAR(l1_time(8192), 4 * l1_time(2048), 1e-12);   // 256 tiles on the 64 cores
}

}  // namespace
}  // namespace ttt::test
