#include "ops/eltwise/eltwise.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/eltwise/op_support.hpp"
#include "ops/eltwise/row_kernels.hpp"
#include "ops/eltwise/tensix_numerics.hpp"

namespace ttt::ops {
namespace {

const char* binary_name(const BinaryArgs& args) { return args.op == BinaryOpType::ADD ? "add" : "mul"; }

const char* unary_name(UnaryActivation act) {
  switch (act) {
    case UnaryActivation::SILU: return "silu";
    case UnaryActivation::RELU: return "relu";
    case UnaryActivation::GELU: return "gelu";
    default: return "unary";
  }
}

void check_activation(std::string_view op, std::string_view field, UnaryActivation act, bool none_ok) {
  const bool ok =
      act == UnaryActivation::SILU || act == UnaryActivation::RELU || (none_ok && act == UnaryActivation::NONE);
  if (ok) return;
  fail(act == UnaryActivation::GELU ? ErrorKind::Unsupported : ErrorKind::InvalidConfig,
       "{}: activation {} is not available here ({}); use {}SILU or RELU", op, to_string(act), field,
       none_ok ? "NONE, " : "");
}

void check_eltwise_dtypes(std::string_view op, std::string_view what, const TensorSpec& t, const DeviceSpec& device) {
  support::check_float(op, what, t.dtype);
  support::check_placement(op, what, t, device);
}

// fp32 activation, as the SFPU evaluates it.
inline float activate(UnaryActivation act, float x) {
  switch (act) {
    case UnaryActivation::SILU: return x / (1.f + std::exp(-x));
    case UnaryActivation::RELU: return x > 0.f ? x : 0.f;
    default: return x;
  }
}

rows::UnaryKind unary_kind(UnaryActivation act) {
  return act == UnaryActivation::RELU ? rows::UnaryKind::RELU : rows::UnaryKind::SILU;
}

}  // namespace

int64_t broadcast_period(std::string_view op, const Shape& a, const Shape& b) {
  int lead = 0;
  while (lead < b.rank() && b[lead] == 1) ++lead;
  const int k = b.rank() - lead;  // b's dims after its leading 1s
  bool ok = k <= a.rank();
  for (int i = 0; ok && i < k; ++i) ok = b[lead + i] == a[a.rank() - k + i];
  if (!ok) {
    const std::string tail = a.rank() ? fmt::format("[{}]", a[-1]) : std::string("[1]");
    fail(ErrorKind::ShapeMismatch,
         "{}: b shape {} does not broadcast to a shape {} (args.b); b must have a's shape or a's trailing dims "
         "with leading 1s, e.g. {} or {}",
         op, b.str(), a.str(), a.str(), tail);
  }
  return b.volume();
}

// ---------------------------------------------------------------------------------------
// Binary
// ---------------------------------------------------------------------------------------

void BinaryOp::validate(const BinaryArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const char* op = binary_name(args);
  support::check_kernel_config(op, config, device, false);
  check_activation(op, "args.a_activation", args.a_activation, /*none_ok=*/true);
  broadcast_period(op, args.a.shape, args.b.shape);
  check_eltwise_dtypes(op, "a", args.a, device);
  check_eltwise_dtypes(op, "b", args.b, device);
  support::check_float(op, "output (dtype)", config.dtype);
  support::check_placement(op, "output", output_spec(args, config), device);
}

TensorSpec BinaryOp::output_spec(const BinaryArgs& args, const OpConfig& config) {
  return support::output_from_config(binary_name(args), args.a.shape, config);
}

void BinaryOp::run(const BinaryArgs& args, const Tensor& a, const Tensor& b, Tensor& out, const OpConfig& config,
                   ExecContext& ctx) {
  const char* op = binary_name(args);
  check_tensor_matches(op, a, args.a);
  check_tensor_matches(op, b, args.b);
  support::check_output(op, out, args.a.shape, config);
  const int64_t n = a.shape().volume();
  const int64_t period = std::max<int64_t>(1, b.shape().volume());
  const int threads = support::host_threads(config, ctx);
  const UnaryActivation act = args.a_activation;

  if (ctx.device.spec().is_ttnn()) {
    const bool f32 = config.compute_kernel_config.fp32_dest_acc_en;
    const MathFidelity fid = config.compute_kernel_config.math_fidelity;
    // Two FLOAT32 operands go through the SFPU in fp32; anything else through the FPU.
    const bool sfpu = a.dtype() == DataType::FLOAT32 && b.dtype() == DataType::FLOAT32;
    const float* av = load_float(a, 0).data();
    const float* bv = load_float(b, 1).data();
    const std::span<float> y = output_staging(out, 2);
    const bool add = args.op == BinaryOpType::ADD;
    ctx.pool.parallel_for(
        n,
        [&](int64_t i0, int64_t i1, int) {
          for (int64_t i = i0; i < i1; ++i) {
            float x = av[i];
            // The activation runs on the SFPU and is packed to an intermediate buffer.
            if (act != UnaryActivation::NONE) x = tensix::dest_value(activate(act, x), f32);
            const float bi = bv[i % period];
            float r = 0.f;
            if (sfpu) {
              r = add ? x + bi : x * bi;
            } else {
              r = add ? tensix::fpu_add(x, bi) : tensix::fpu_mul(x, bi, fid);
            }
            y[static_cast<std::size_t>(i)] = tensix::dest_value(r, f32);
          }
        },
        threads, rows::kParallelGrain);
    store_float(y, out);
    return;
  }

  const rows::RowKernels& k = rows::row_kernels();
  const rows::RowSource as = rows::row_source(a, 0);
  const rows::RowSource bs = rows::row_source(b, 1);
  const rows::RowSink ys = rows::row_sink(out, 2);
  const bool fused = args.op == BinaryOpType::MUL && act == UnaryActivation::SILU;
  const rows::BinaryKind kind = fused ? rows::BinaryKind::SILU_MUL
                                      : (args.op == BinaryOpType::ADD ? rows::BinaryKind::ADD : rows::BinaryKind::MUL);
  const bool pre_activation = act != UnaryActivation::NONE && !fused;
  ctx.pool.parallel_for(
      n,
      [&](int64_t i0, int64_t i1, int) {
        alignas(64) float abuf[rows::kRowChunk];
        for (int64_t i = i0; i < i1;) {
          const int64_t phase = i % period;
          const int64_t m = std::min({rows::kRowChunk, i1 - i, period - phase});
          const void* ap = as.at(i);
          rows::Elem ea = as.elem;
          if (pre_activation) {
            k.unary(unary_kind(act), ap, ea, abuf, rows::Elem::F32, m);
            ap = abuf;
            ea = rows::Elem::F32;
          }
          k.binary(kind, ap, ea, bs.at(phase), bs.elem, ys.at(i), ys.elem, m);
          i += m;
        }
      },
      threads, rows::kParallelGrain);
  rows::row_finish(ys, out);
}

Cost BinaryOp::cost(const BinaryArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, args.a, false);
  support::add_traffic(in, args.b, false);
  support::add_traffic(in, output_spec(args, config), true);
  const auto n = static_cast<double>(args.a.shape.volume());
  // silu: exp and a division, ~10 vector operations per element.
  in.vector_flops = n * (1.0 + (args.a_activation == UnaryActivation::SILU ? 10.0 : 0.0));
  in.cores = support::tile_op_cores(args.a, device);
  in.math_dtype = device.is_ttnn() ? args.a.dtype : DataType::FLOAT32;
  return estimate_cost(in, device);
}

// ---------------------------------------------------------------------------------------
// Unary
// ---------------------------------------------------------------------------------------

void UnaryOp::validate(const UnaryArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const char* op = unary_name(args.op);
  support::check_kernel_config(op, config, device, false);
  check_activation(op, "args.op", args.op, /*none_ok=*/false);
  check_eltwise_dtypes(op, "input", args.input, device);
  support::check_float(op, "output (dtype)", config.dtype);
  support::check_placement(op, "output", output_spec(args, config), device);
}

TensorSpec UnaryOp::output_spec(const UnaryArgs& args, const OpConfig& config) {
  return support::output_from_config(unary_name(args.op), args.input.shape, config);
}

void UnaryOp::run(const UnaryArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx) {
  const char* op = unary_name(args.op);
  check_tensor_matches(op, input, args.input);
  support::check_output(op, out, args.input.shape, config);
  const int64_t n = input.shape().volume();
  const int threads = support::host_threads(config, ctx);

  if (ctx.device.spec().is_ttnn()) {
    const bool f32 = config.compute_kernel_config.fp32_dest_acc_en;
    const float* xv = load_float(input, 0).data();
    const std::span<float> y = output_staging(out, 2);
    ctx.pool.parallel_for(
        n,
        [&](int64_t i0, int64_t i1, int) {
          for (int64_t i = i0; i < i1; ++i) {
            y[static_cast<std::size_t>(i)] = tensix::dest_value(activate(args.op, xv[i]), f32);
          }
        },
        threads, rows::kParallelGrain);
    store_float(y, out);
    return;
  }

  const rows::RowKernels& k = rows::row_kernels();
  const rows::RowSource xs = rows::row_source(input, 0);
  const rows::RowSink ys = rows::row_sink(out, 2);
  const rows::UnaryKind kind = unary_kind(args.op);
  ctx.pool.parallel_for(
      n, [&](int64_t i0, int64_t i1, int) { k.unary(kind, xs.at(i0), xs.elem, ys.at(i0), ys.elem, i1 - i0); }, threads,
      rows::kParallelGrain);
  rows::row_finish(ys, out);
}

Cost UnaryOp::cost(const UnaryArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, args.input, false);
  support::add_traffic(in, output_spec(args, config), true);
  in.vector_flops = static_cast<double>(args.input.shape.volume()) * (args.op == UnaryActivation::SILU ? 10.0 : 1.0);
  in.cores = support::tile_op_cores(args.input, device);
  in.math_dtype = device.is_ttnn() ? args.input.dtype : DataType::FLOAT32;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
