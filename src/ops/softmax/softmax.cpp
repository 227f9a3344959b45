#include "ops/softmax/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/eltwise/op_support.hpp"
#include "ops/eltwise/row_kernels.hpp"
#include "ops/eltwise/tensix_numerics.hpp"

namespace ttt::ops {
namespace {

constexpr const char* kOp = "softmax";
constexpr std::initializer_list<DataType> kTtnnDtypes = {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B};

// ttnn SoftmaxShardedMultiCoreProgramConfig checks (softmax_device_operation.cpp): whole
// rows per shard, one shard per core of the program grid.
void check_sharded_config(const SoftmaxArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const MemoryConfig& mem = args.input.memory_config;
  const auto* nc = std::get_if<NormConfig>(&config.kernel_config);
  if (!nc) {
    TTT_CHECK(!mem.is_sharded(), InvalidConfig,
              "{}: input '{}' is sharded ({}) but kernel_config is none; a sharded input needs a norm program "
              "config (grid, block_h, block_w, subblock_w)",
              kOp, args.input.name, mem.str());
    return;
  }
  const CoreGrid& g = nc->grid;
  TTT_CHECK(g.x >= 1 && g.y >= 1 && g.x <= device.grid.x && g.y <= device.grid.y, InvalidConfig,
            "{}: grid {} is outside the {} compute grid {} (kernel_config.grid); use a grid within {}", kOp, g.str(),
            device.name, device.grid.str(), device.grid.str());
  TTT_CHECK(nc->block_h >= 1 && nc->block_w >= 1, InvalidConfig,
            "{}: block_h {} and block_w {} must be at least 1 (kernel_config.block_h, kernel_config.block_w)", kOp,
            nc->block_h, nc->block_w);
  TTT_CHECK(nc->subblock_w >= 1 && nc->block_w % nc->subblock_w == 0, InvalidConfig,
            "{}: subblock_w {} does not divide block_w {} (kernel_config.subblock_w); use a divisor of {}", kOp,
            nc->subblock_w, nc->block_w, nc->block_w);
  TTT_CHECK(mem.is_sharded(), InvalidConfig,
            "{}: a norm program config runs the sharded softmax, but input '{}' is {}; use kernel_config none or "
            "shard the input (HEIGHT_SHARDED)",
            kOp, args.input.name, mem.str());
  const Shape padded = padded_shape(args.input.shape, Layout::TILE);
  const int64_t kt = padded[-1] / kTileSize;
  const int64_t mt = padded.volume() / padded[-1] / kTileSize;
  TTT_CHECK(nc->block_w == kt, InvalidConfig,
            "{}: block_w {} must span the whole width, {} tiles, since the sharded softmax reduces each shard's "
            "rows (kernel_config.block_w); use block_w {}",
            kOp, nc->block_w, kt, kt);
  TTT_CHECK(mt % nc->block_h == 0 && mt / nc->block_h == g.count(), InvalidConfig,
            "{}: {} height tiles in blocks of block_h {} do not give one shard per core of grid {} ({} cores) "
            "(kernel_config.block_h); use block_h {}",
            kOp, mt, nc->block_h, g.str(), g.count(), std::max<int64_t>(1, mt / g.count()));
}

// Host softmax of one row (n values) into out. The exponent's argument is formed in
// double: in fp32 its rounding (about 1e-6 absolute at |x| ~ 20) would become the
// relative error of every small probability.
void softmax_row_host(const float* x, float* e, float* out, int64_t n, double scale) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j] * scale);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    e[j] = static_cast<float>(std::exp(x[j] * scale - m));
    sum += e[j];
  }
  const double inv = 1.0 / sum;
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(e[j] * inv);
}

// The device kernel on one row of stored values (see the header).
void softmax_row_tensix(const float* x, float* e, float* out, int64_t n, const std::optional<float>& scale,
                        const ComputeKernelConfig& cc) {
  using tensix::dest_value;
  const bool f32 = cc.fp32_dest_acc_en;
  const MathFidelity fid = cc.math_fidelity;
  // The scaled input, as the intermediate buffer holds it (mul_tiles_bcast_scalar).
  const float* s = x;
  if (scale) {
    const float sc = tensix::host_bf16_scalar(*scale);
    for (int64_t j = 0; j < n; ++j) e[j] = dest_value(tensix::fpu_mul(x[j], sc, fid), f32);
    s = e;
  }
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, s[j]);
  // sub_tiles_bcast_cols then exp_tile in the same dest tile.
  for (int64_t j = 0; j < n; ++j) {
    const float d = dest_value(tensix::fpu_sub(s[j], m), f32);
    e[j] = dest_value(std::exp(d), f32);
  }
  // reduce_tile(SUM) with a scaler of 1 accumulates tile by tile in dest, then recip_tile.
  float acc = 0.f;
  for (int64_t t0 = 0; t0 < n; t0 += kTileSize) {
    float part = 0.f;
    for (int64_t j = t0; j < std::min(n, t0 + kTileSize); ++j) part += tensix::fpu_mul(e[j], 1.f, fid);
    acc = dest_value(acc + part, f32);
  }
  const float recip = dest_value(1.f / acc, f32);
  for (int64_t j = 0; j < n; ++j) out[j] = dest_value(tensix::fpu_mul(e[j], recip, fid), f32);
}

}  // namespace

void SoftmaxOp::validate(const SoftmaxArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const TensorSpec& in = args.input;
  TTT_CHECK(in.shape.rank() >= 1 && in.shape.cols() >= 1, ShapeMismatch,
            "{}: input '{}' has shape {}; it needs a last dim of at least 1 (args.input)", kOp, in.name,
            in.shape.str());
  TTT_CHECK(!args.scale || (std::isfinite(*args.scale) && *args.scale != 0.f), InvalidConfig,
            "{}: scale {} must be finite and nonzero (args.scale); leave it empty for no scaling", kOp,
            args.scale.value_or(0.f));
  support::check_kernel_config(kOp, config, device, /*norm_config_ok=*/true);
  support::check_float(kOp, "input", in.dtype);
  support::check_float(kOp, "output (dtype)", config.dtype);
  if (device.is_ttnn()) {
    check_dtype_in(kOp, "input", in.dtype, kTtnnDtypes);
    TTT_CHECK(in.layout == Layout::TILE, InvalidConfig,
              "{}: input '{}' is {}; ttnn softmax reads TILE layout: tilize it first", kOp, in.name,
              to_string(in.layout));
    TTT_CHECK(config.dtype == in.dtype && config.layout == Layout::TILE, InvalidConfig,
              "{}: ttnn softmax writes the input's format, {} TILE, but the config asks for {} {} (dtype, layout); "
              "use dtype {} and layout TILE, then typecast if needed",
              kOp, to_string(in.dtype), to_string(config.dtype), to_string(config.layout), to_string(in.dtype));
    check_sharded_config(args, config, device);
  }
  support::check_placement(kOp, "input", in, device);
  support::check_placement(kOp, "output", output_spec(args, config), device);
}

TensorSpec SoftmaxOp::output_spec(const SoftmaxArgs& args, const OpConfig& config) {
  return support::output_from_config(kOp, args.input.shape, config);
}

void SoftmaxOp::run(const SoftmaxArgs& args, const Tensor& input, Tensor& out, const OpConfig& config,
                    ExecContext& ctx) {
  check_tensor_matches(kOp, input, args.input);
  support::check_output(kOp, out, args.input.shape, config);
  const int64_t w = input.shape().cols();
  const int threads = support::host_threads(config, ctx);
  const bool ttnn = ctx.device.spec().is_ttnn();
  const float* x = load_float(input, 0).data();
  const std::span<float> y = output_staging(out, 2);
  ctx.pool.parallel_for(
      input.shape().rows(),
      [&](int64_t r0, int64_t r1, int) {
        float* e = scratch(static_cast<std::size_t>(w), 5).data();
        for (int64_t r = r0; r < r1; ++r) {
          if (ttnn) {
            softmax_row_tensix(x + r * w, e, y.data() + r * w, w, args.scale, config.compute_kernel_config);
          } else {
            softmax_row_host(x + r * w, e, y.data() + r * w, w, args.scale.value_or(1.f));
          }
        }
      },
      threads);
  store_float(y, out);
}

Cost SoftmaxOp::cost(const SoftmaxArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, args.input, false);
  support::add_traffic(in, output_spec(args, config), true);
  // Per element: scale, max, subtract, exp (~8 operations), sum, multiply.
  in.vector_flops = static_cast<double>(args.input.shape.volume()) * 13.0;
  in.cores = support::row_op_cores(args.input, device);
  in.fidelity = config.compute_kernel_config.math_fidelity;
  in.math_dtype = device.is_ttnn() ? args.input.dtype : DataType::FLOAT32;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
