#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "elementwise_test_util.hpp"
#include "ops/softmax/softmax.hpp"

namespace ttt::test {
namespace {

using ops::SoftmaxArgs;
using ops::SoftmaxOp;

std::vector<double> softmax_ref(const std::vector<double>& x, int64_t w, double scale) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / static_cast<std::size_t>(w); ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < w; ++j) m = std::max(m, x[r * w + j] * scale);
    for (int64_t j = 0; j < w; ++j) sum += std::exp(x[r * w + j] * scale - m);
    for (int64_t j = 0; j < w; ++j) y[r * w + j] = std::exp(x[r * w + j] * scale - m) / sum;
  }
  return y;
}

Tensor run_softmax(const SoftmaxArgs& args, const Tensor& x, const OpConfig& cfg, Device& dev) {
  SoftmaxOp::validate(args, cfg, dev.spec());
  Tensor out = Tensor::empty(SoftmaxOp::output_spec(args, cfg));
  auto ctx = context(dev);
  SoftmaxOp::run(args, x, out, cfg, ctx);
  return out;
}

TEST(SoftmaxHost, MatchesDoubleReference) {
  Device& cpu = *device("cpu");
  uint64_t seed = 1;
  for (const Shape& shape : {Shape{2, 3, 64}, Shape{4, 172}, Shape{2, 2, 2055}}) {
    // Large logits: without the max subtraction exp would overflow.
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), seed++, -60.f, 120.f);
    for (std::optional<float> scale : {std::optional<float>{}, std::optional<float>{0.125f}}) {
      for (DataType dt : {DataType::FLOAT32, DataType::BFLOAT16}) {
        SCOPED_TRACE(shape.str() + (scale ? " scaled " : " ") + std::string(to_string(dt)));
        const Tensor x = make_tensor(xv, shape, dt, Layout::ROW_MAJOR, "x");
        const auto y = to_float(run_softmax({x.spec(), scale}, x, host_config(dt), cpu));
        const auto ref = softmax_ref(quantized(xv, shape, dt, Layout::ROW_MAJOR), shape[-1], scale.value_or(1.f));
        if (dt == DataType::FLOAT32) {
          EXPECT_GE(pcc(y, ref), 0.99999);
          for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-6 * ref[i] + 1e-30) << i;
        } else {
          EXPECT_GE(pcc(y, ref), 0.999);
          EXPECT_LE(max_abs_diff(y, ref), max_abs(ref) / 128);
        }
      }
    }
  }
}

TEST(SoftmaxTtnn, N150Bf16Tile) {
  Device& n150 = *device("ttnn:n150");
  uint64_t seed = 50;
  for (const Shape& shape : {Shape{2, 37, 64}, Shape{1, 3, 2055}}) {
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), seed++, -4.f, 4.f);
    const Tensor x = make_tensor(xv, shape, DataType::BFLOAT16, Layout::TILE, "x");
    const auto xq = quantized(xv, shape, DataType::BFLOAT16, Layout::TILE);
    struct Case {
      MathFidelity fid;
      bool f32;
      std::optional<float> scale;
      double min_pcc;
    };
    for (const Case& c :
         {Case{MathFidelity::HiFi4, true, std::nullopt, 0.9999}, Case{MathFidelity::HiFi4, false, 0.5f, 0.999},
          Case{MathFidelity::LoFi, false, std::nullopt, 0.99}}) {
      SCOPED_TRACE(shape.str() + " " + std::string(to_string(c.fid)) + (c.f32 ? " fp32" : " bf16"));
      const auto y =
          to_float(run_softmax({x.spec(), c.scale}, x, device_config(DataType::BFLOAT16, c.fid, c.f32), n150));
      const auto ref = softmax_ref(xq, shape[-1], c.scale.value_or(1.f));
      EXPECT_GE(pcc(y, ref), c.min_pcc);
      // Each row still sums to about 1.
      double row = 0;
      for (int64_t j = 0; j < shape[-1]; ++j) row += y[static_cast<std::size_t>(j)];
      EXPECT_NEAR(row, 1.0, c.fid == MathFidelity::LoFi ? 0.1 : 0.02);
    }
  }
}

TEST(SoftmaxValidation, EachErrorOnce) {
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec x{"scores", Shape{1, 8, 64, 128}, DataType::BFLOAT16, Layout::TILE, {}};
  SoftmaxOp::validate({x, 0.125f}, device_config(), n150);
  expect_error(
      [&] {
        SoftmaxOp::validate({x, 0.f}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"softmax", "scale 0", "args.scale"});
  TensorSpec xrm = x;
  xrm.layout = Layout::ROW_MAJOR;
  expect_error(
      [&] {
        SoftmaxOp::validate({xrm, std::nullopt}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"softmax", "ROW_MAJOR", "tilize"});
  expect_error(
      [&] {
        SoftmaxOp::validate({x, std::nullopt}, device_config(DataType::FLOAT32), n150);
      },
      ErrorKind::InvalidConfig, {"softmax", "BFLOAT16 TILE", "FLOAT32"});
  TensorSpec xs = x;
  xs.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                  ShardSpec{CoreGrid{8, 2}, {32, 128}, ShardOrientation::ROW_MAJOR}};
  OpConfig cfg = device_config();
  cfg.memory_config = xs.memory_config;
  cfg.kernel_config = NormConfig{.grid = {8, 2}, .subblock_w = 2, .block_h = 1, .block_w = 4};
  SoftmaxOp::validate({xs, std::nullopt}, cfg, n150);
  std::get<NormConfig>(cfg.kernel_config).block_w = 2;
  expect_error(
      [&] {
        SoftmaxOp::validate({xs, std::nullopt}, cfg, n150);
      },
      ErrorKind::InvalidConfig, {"block_w 2", "4 tiles", "kernel_config.block_w"});
  std::get<NormConfig>(cfg.kernel_config) = NormConfig{.grid = {8, 2}, .subblock_w = 4, .block_h = 2, .block_w = 4};
  expect_error(
      [&] {
        SoftmaxOp::validate({xs, std::nullopt}, cfg, n150);
      },
      ErrorKind::InvalidConfig, {"block_h 2", "16 cores", "use block_h 1"});
}

}  // namespace
}  // namespace ttt::test
