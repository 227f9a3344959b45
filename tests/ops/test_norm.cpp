#include <gtest/gtest.h>

#include <cmath>

#include "elementwise_test_util.hpp"
#include "ops/norm/norm.hpp"

namespace ttt::test {
namespace {

using ops::LayerNormArgs;
using ops::LayerNormOp;
using ops::RmsNormArgs;
using ops::RmsNormOp;

std::vector<double> rms_ref(const std::vector<double>& x, int64_t w, const std::vector<double>* g, double eps) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / static_cast<std::size_t>(w); ++r) {
    double ss = 0;
    for (int64_t j = 0; j < w; ++j) ss += x[r * w + j] * x[r * w + j];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(w) + eps);
    for (int64_t j = 0; j < w; ++j) y[r * w + j] = x[r * w + j] * inv * (g ? (*g)[j] : 1.0);
  }
  return y;
}

std::vector<double> layer_ref(const std::vector<double>& x, int64_t w, const std::vector<double>& g,
                              const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / static_cast<std::size_t>(w); ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < w; ++j) mean += x[r * w + j];
    mean /= static_cast<double>(w);
    for (int64_t j = 0; j < w; ++j) var += (x[r * w + j] - mean) * (x[r * w + j] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(w) + eps);
    for (int64_t j = 0; j < w; ++j) y[r * w + j] = (x[r * w + j] - mean) * inv * g[j] + b[j];
  }
  return y;
}

Tensor run_rms(const RmsNormArgs& args, const Tensor& x, const Tensor* g, const OpConfig& cfg, Device& dev) {
  RmsNormOp::validate(args, cfg, dev.spec());
  Tensor out = Tensor::empty(RmsNormOp::output_spec(args, cfg));
  auto ctx = context(dev);
  RmsNormOp::run(args, x, g, out, cfg, ctx);
  return out;
}

struct HostCase {
  DataType in_dtype;
  Layout in_layout;
  DataType out_dtype;
  Layout out_layout;
  DataType gamma_dtype;
  double min_pcc;
  double rel_atol;  // max |out - ref| / max |ref|
};

TEST(RmsNormHost, MatchesDoubleReferenceOnEveryIsa) {
  Device& cpu = *device("cpu");
  const std::vector<HostCase> cases = {
      {DataType::FLOAT32, Layout::ROW_MAJOR, DataType::FLOAT32, Layout::ROW_MAJOR, DataType::FLOAT32, 0.99999, 1e-5},
      {DataType::BFLOAT16, Layout::ROW_MAJOR, DataType::BFLOAT16, Layout::ROW_MAJOR, DataType::BFLOAT16, 0.9999,
       1.0 / 128},
      {DataType::BFLOAT16, Layout::TILE, DataType::FLOAT32, Layout::ROW_MAJOR, DataType::BFLOAT16, 0.99999, 1e-5},
      {DataType::BFLOAT8_B, Layout::TILE, DataType::BFLOAT16, Layout::TILE, DataType::FLOAT32, 0.9999, 1.0 / 128},
  };
  const std::vector<Shape> shapes = {{2, 3, 64}, {2, 5, 172}, {1, 3, 2055}, {2, 8192}};
  IsaSweep isa;
  uint64_t seed = 1;
  for (const Shape& shape : shapes) {
    const int64_t w = shape[-1];
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), seed++, -2.f, 2.f);
    const auto gv = random_values(static_cast<std::size_t>(w), seed++, 0.5f, 1.5f);
    for (const HostCase& c : cases) {
      SCOPED_TRACE(shape.str() + " " + std::string(to_string(c.in_dtype)) + " " + std::string(to_string(c.in_layout)));
      const Tensor x = make_tensor(xv, shape, c.in_dtype, c.in_layout, "x");
      const Tensor g = make_tensor(gv, Shape{w}, c.gamma_dtype, Layout::ROW_MAJOR, "gamma");
      const RmsNormArgs args{x.spec(), g.spec(), 1e-5f};
      const auto xq = quantized(xv, shape, c.in_dtype, c.in_layout);
      const auto gq = quantized(gv, Shape{w}, c.gamma_dtype, Layout::ROW_MAJOR);
      const auto ref = rms_ref(xq, w, &gq, 1e-5);
      std::vector<float> first;
      for (IsaLevel level : isa.levels()) {
        set_isa_limit(level);
        const auto y = to_float(run_rms(args, x, &g, host_config(c.out_dtype, c.out_layout), cpu));
        EXPECT_GE(pcc(y, ref), c.min_pcc) << to_string(level);
        EXPECT_LE(max_abs_diff(y, ref), c.rel_atol * max_abs(ref)) << to_string(level);
        if (first.empty()) {
          first = y;
        } else {
          // Same algorithm on every path; only FMA contraction and lane order differ.
          EXPECT_LE(max_abs_diff(y, to_double(first)),
                    1e-5 * max_abs(ref) + (c.out_dtype == DataType::FLOAT32 ? 0 : 1e-2))
              << to_string(level);
        }
      }
    }
  }
}

TEST(RmsNormHost, WithoutGammaAndWithThreadCap) {
  Device& cpu = *device("cpu");
  const Shape shape{3, 7, 100};
  const auto xv = random_values(static_cast<std::size_t>(shape.volume()), 11, -3.f, 3.f);
  const Tensor x = make_tensor(xv, shape);
  const RmsNormArgs args{x.spec(), std::nullopt, 1e-6f};
  OpConfig cfg = host_config();
  cfg.kernel_config = CpuKernelConfig{.threads = 1};
  const auto y = to_float(run_rms(args, x, nullptr, cfg, cpu));
  const auto ref = rms_ref(to_double(xv), 100, nullptr, 1e-6);
  EXPECT_GE(pcc(y, ref), 0.99999);
  EXPECT_LE(max_abs_diff(y, ref), 1e-5);
}

struct DeviceCase {
  MathFidelity fidelity;
  bool fp32_dest;
  double min_pcc;
  double rel_atol;
};

TEST(RmsNormTtnn, N150Bf16TileFollowsTheDeviceModel) {
  Device& n150 = *device("ttnn:n150");
  // Thresholds are measured values with margin (docs/numerics/elementwise.md).
  const std::vector<DeviceCase> cases = {
      {MathFidelity::HiFi4, true, 0.9999, 1.0 / 64},
      {MathFidelity::HiFi2, false, 0.999, 1.0 / 32},
      {MathFidelity::LoFi, false, 0.99, 1.0 / 8},
  };
  const std::vector<Shape> shapes = {{2, 5, 172}, {1, 37, 2055}};
  uint64_t seed = 100;
  for (const Shape& shape : shapes) {
    const int64_t w = shape[-1];
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), seed++, -2.f, 2.f);
    const auto gv = random_values(static_cast<std::size_t>(w), seed++, 0.5f, 1.5f);
    const Tensor x = make_tensor(xv, shape, DataType::BFLOAT16, Layout::TILE, "x");
    const Tensor g = make_tensor(gv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR, "gamma");
    const RmsNormArgs args{x.spec(), g.spec(), 1e-5f};
    const auto gq = quantized(gv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR);
    const auto ref = rms_ref(quantized(xv, shape, DataType::BFLOAT16, Layout::TILE), w, &gq, 1e-5);
    std::vector<std::vector<float>> outs;
    for (const DeviceCase& c : cases) {
      SCOPED_TRACE(shape.str() + " " + std::string(to_string(c.fidelity)) + (c.fp32_dest ? " fp32" : " bf16"));
      const auto y = to_float(run_rms(args, x, &g, device_config(DataType::BFLOAT16, c.fidelity, c.fp32_dest), n150));
      EXPECT_GE(pcc(y, ref), c.min_pcc);
      EXPECT_LE(max_abs_diff(y, ref), c.rel_atol * max_abs(ref));
      outs.push_back(y);
    }
    // LoFi slices srcA to 5 bits: it must not reproduce the HiFi4 result.
    EXPECT_GT(max_abs_diff(outs[2], to_double(outs[0])), 0.0);
  }
}

TEST(RmsNormTtnn, ShardedDecodeConfig) {
  Device& n150 = *device("ttnn:n150");
  const Shape shape{1, 1, 32, 2048};
  MemoryConfig sharded{TensorMemoryLayout::WIDTH_SHARDED, BufferType::L1,
                       ShardSpec{CoreGrid{8, 2}, {32, 128}, ShardOrientation::ROW_MAJOR}};
  const auto xv = random_values(static_cast<std::size_t>(shape.volume()), 7, -1.f, 1.f);
  const auto gv = random_values(2048, 8, 0.5f, 1.5f);
  Tensor x = from_float(xv, TensorSpec{"x", shape, DataType::BFLOAT16, Layout::TILE, sharded});
  const Tensor g = make_tensor(gv, Shape{2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, "gamma");
  OpConfig cfg = device_config(DataType::BFLOAT16, MathFidelity::HiFi2, true);
  cfg.memory_config = sharded;
  cfg.kernel_config = NormConfig{.grid = {8, 2}, .subblock_w = 4, .block_h = 1, .block_w = 4};
  const RmsNormArgs args{x.spec(), g.spec(), 1e-5f};
  const auto y = to_float(run_rms(args, x, &g, cfg, n150));
  auto gq = quantized(gv, Shape{2048}, DataType::BFLOAT16, Layout::ROW_MAJOR);
  const auto ref = rms_ref(quantized(xv, shape, DataType::BFLOAT16, Layout::TILE), 2048, &gq, 1e-5);
  EXPECT_GE(pcc(y, ref), 0.9999);
  const Cost c = RmsNormOp::cost(args, cfg, n150.spec());
  EXPECT_GT(c.total_s(), 0.0);
}

TEST(LayerNorm, HostAndN150AgainstDoubleReference) {
  const std::vector<Shape> shapes = {{2, 3, 64}, {3, 172}, {1, 2, 2055}};
  uint64_t seed = 300;
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.str());
    const int64_t w = shape[-1];
    const auto xv = random_values(static_cast<std::size_t>(shape.volume()), seed++, -1.f, 3.f);
    const auto gv = random_values(static_cast<std::size_t>(w), seed++, 0.5f, 1.5f);
    const auto bv = random_values(static_cast<std::size_t>(w), seed++, -0.5f, 0.5f);
    // cpu, fp32.
    {
      const Tensor x = make_tensor(xv, shape);
      const Tensor g = make_tensor(gv, Shape{w}, DataType::FLOAT32, Layout::ROW_MAJOR, "gamma");
      const Tensor b = make_tensor(bv, Shape{1, 1, w}, DataType::FLOAT32, Layout::ROW_MAJOR, "beta");
      const LayerNormArgs args{x.spec(), g.spec(), b.spec(), 1e-5f};
      const OpConfig cfg = host_config();
      LayerNormOp::validate(args, cfg, device("cpu")->spec());
      Tensor out = Tensor::empty(LayerNormOp::output_spec(args, cfg));
      auto ctx = context(*device("cpu"));
      LayerNormOp::run(args, x, &g, &b, out, cfg, ctx);
      const auto ref = layer_ref(to_double(xv), w, to_double(gv), to_double(bv), 1e-5);
      const auto y = to_float(out);
      EXPECT_GE(pcc(y, ref), 0.99999);
      EXPECT_LE(max_abs_diff(y, ref), 1e-5 * max_abs(ref));
    }
    // n150, bf16 TILE, HiFi4 with fp32 accumulation.
    {
      const Tensor x = make_tensor(xv, shape, DataType::BFLOAT16, Layout::TILE, "x");
      const Tensor g = make_tensor(gv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR, "gamma");
      const Tensor b = make_tensor(bv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR, "beta");
      const LayerNormArgs args{x.spec(), g.spec(), b.spec(), 1e-5f};
      const OpConfig cfg = device_config(DataType::BFLOAT16, MathFidelity::HiFi4, true);
      Device& n150 = *device("ttnn:n150");
      LayerNormOp::validate(args, cfg, n150.spec());
      Tensor out = Tensor::empty(LayerNormOp::output_spec(args, cfg));
      auto ctx = context(n150);
      LayerNormOp::run(args, x, &g, &b, out, cfg, ctx);
      const auto ref = layer_ref(quantized(xv, shape, DataType::BFLOAT16, Layout::TILE), w,
                                 quantized(gv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR),
                                 quantized(bv, Shape{w}, DataType::BFLOAT16, Layout::ROW_MAJOR), 1e-5);
      const auto y = to_float(out);
      EXPECT_GE(pcc(y, ref), 0.9999);
      EXPECT_LE(max_abs_diff(y, ref), max_abs(ref) / 32);
    }
  }
}

TEST(NormValidation, EachErrorOnce) {
  const DeviceSpec cpu = device("cpu")->spec();
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec x{"x", Shape{1, 1, 32, 2048}, DataType::BFLOAT16, Layout::TILE, {}};
  const TensorSpec g{"gamma", Shape{2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  const OpConfig dev_cfg = device_config();
  const MemoryConfig width_sharded{TensorMemoryLayout::WIDTH_SHARDED, BufferType::L1,
                                   ShardSpec{CoreGrid{8, 2}, {32, 128}, ShardOrientation::ROW_MAJOR}};
  TensorSpec xs = x;
  xs.memory_config = width_sharded;
  OpConfig sharded_cfg = dev_cfg;
  sharded_cfg.memory_config = width_sharded;
  sharded_cfg.kernel_config = NormConfig{.grid = {8, 2}, .subblock_w = 4, .block_h = 1, .block_w = 4};
  RmsNormOp::validate({xs, g, 1e-5f}, sharded_cfg, n150);  // the valid baseline

  expect_error(
      [&] {
        RmsNormOp::validate({x, g, -1.f}, dev_cfg, n150);
      },
      ErrorKind::InvalidConfig, {"rms_norm", "eps -1", "args.eps"});
  expect_error(
      [&] {
        RmsNormOp::validate({x, TensorSpec{"gamma", Shape{2000}}, 1e-5f}, dev_cfg, n150);
      },
      ErrorKind::ShapeMismatch, {"rms_norm", "gamma 'gamma'", "2000 values", "expected 2048"});
  TensorSpec xrm = x;
  xrm.layout = Layout::ROW_MAJOR;
  expect_error(
      [&] {
        RmsNormOp::validate({xrm, g, 1e-5f}, dev_cfg, n150);
      },
      ErrorKind::InvalidConfig, {"rms_norm", "ROW_MAJOR", "TILE"});
  TensorSpec xi = x;
  xi.dtype = DataType::INT32;
  expect_error(
      [&] {
        RmsNormOp::validate({xi, g, 1e-5f}, host_config(), cpu);
      },
      ErrorKind::InvalidConfig, {"rms_norm", "input dtype INT32"});
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, dev_cfg, n150);
      },
      ErrorKind::InvalidConfig, {"rms_norm", "sharded", "kernel_config is none"});
  OpConfig bad = sharded_cfg;
  std::get<NormConfig>(bad.kernel_config).grid = {9, 8};
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"grid 9x8", "8x8", "kernel_config.grid"});
  bad = sharded_cfg;
  std::get<NormConfig>(bad.kernel_config).subblock_w = 3;
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"subblock_w 3", "block_w 4", "1, 2, 4"});
  bad = sharded_cfg;
  bad.compute_kernel_config.fp32_dest_acc_en = true;
  std::get<NormConfig>(bad.kernel_config) = NormConfig{.grid = {8, 2}, .subblock_w = 8, .block_h = 1, .block_w = 8};
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"subblock_w 8", "fp32_dest_acc_en = true"});
  bad = sharded_cfg;
  std::get<NormConfig>(bad.kernel_config).block_w = 2;
  std::get<NormConfig>(bad.kernel_config).subblock_w = 2;
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"block_w 2", "64 width tiles over 16 cores", "block_w 4"});
  bad = dev_cfg;
  bad.kernel_config = NormConfig{.grid = {8, 8}, .subblock_w = 1, .block_h = 1, .block_w = 1};
  expect_error(
      [&] {
        RmsNormOp::validate({x, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"sharded kernel", "INTERLEAVED", "kernel_config none"});
  bad = sharded_cfg;
  bad.memory_config = kDramInterleaved;
  expect_error(
      [&] {
        RmsNormOp::validate({xs, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"output sharded the same way"});
  bad = dev_cfg;
  bad.kernel_config = MatmulReuseConfig{};
  expect_error(
      [&] {
        RmsNormOp::validate({x, g, 1e-5f}, bad, n150);
      },
      ErrorKind::InvalidConfig, {"matmul_reuse", "kernel_config"});
  OpConfig cpu_cfg = host_config();
  cpu_cfg.kernel_config = NormConfig{};
  expect_error([&] { RmsNormOp::validate({x, g, 1e-5f}, cpu_cfg, cpu); }, ErrorKind::InvalidConfig, {"'norm'", "cpu"});
  TensorSpec xh = x;
  xh.shape = Shape{1, 1, 64, 2048};
  xh.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                  ShardSpec{CoreGrid{2, 1}, {32, 2048}, ShardOrientation::ROW_MAJOR}};
  bad = sharded_cfg;
  bad.memory_config = xh.memory_config;
  expect_error([&] { RmsNormOp::validate({xh, g, 1e-5f}, bad, n150); }, ErrorKind::InvalidConfig, {"HEIGHT_SHARDED"});
  TensorSpec g8 = g;
  g8.dtype = DataType::BFLOAT8_B;
  g8.layout = Layout::TILE;
  LayerNormOp::validate({x, g8, std::nullopt, 1e-5f}, dev_cfg, n150);  // bfp8 gamma is fine in TILE
  TensorSpec beta_tile_int = g;
  beta_tile_int.dtype = DataType::FLOAT32;
  beta_tile_int.shape = Shape{100};
  expect_error(
      [&] {
        LayerNormOp::validate({x, g, beta_tile_int, 1e-5f}, dev_cfg, n150);
      },
      ErrorKind::ShapeMismatch, {"layer_norm", "beta", "args.beta"});
}

TEST(NormCost, DescribesTraffic) {
  const TensorSpec x{"x", Shape{1, 128, 2048}, DataType::BFLOAT16, Layout::TILE, {}};
  const TensorSpec g{"gamma", Shape{2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  const Cost dev = RmsNormOp::cost({x, g, 1e-5f}, device_config(), device("ttnn:n150")->spec());
  EXPECT_GT(dev.dram_s, 0.0);
  EXPECT_GT(dev.compute_s, 0.0);
  const Cost host = RmsNormOp::cost({x, g, 1e-5f}, host_config(), device("cpu")->spec());
  EXPECT_GT(host.total_s(), 0.0);
}

}  // namespace
}  // namespace ttt::test
