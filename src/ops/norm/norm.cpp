#include "ops/norm/norm.hpp"

#include <cmath>

#include "ops/eltwise/op_support.hpp"
#include "ops/eltwise/row_kernels.hpp"
#include "ops/norm/norm_internal.hpp"

namespace ttt::ops {
namespace {

using norm_detail::NormKind;

// What rms_norm and layer_norm share, seen through one struct.
struct NormView {
  NormKind kind;
  const char* op;
  const TensorSpec& input;
  const std::optional<TensorSpec>& gamma;
  const std::optional<TensorSpec>* beta;  // null for rms_norm
  float eps;
};

NormView view(const RmsNormArgs& a) { return {NormKind::RMS, "rms_norm", a.input, a.gamma, nullptr, a.eps}; }
NormView view(const LayerNormArgs& a) { return {NormKind::LAYER, "layer_norm", a.input, a.gamma, &a.beta, a.eps}; }

constexpr std::initializer_list<DataType> kTtnnNormDtypes = {DataType::FLOAT32, DataType::BFLOAT16,
                                                             DataType::BFLOAT8_B};

void check_affine(const NormView& v, const char* field, const TensorSpec& t, const DeviceSpec& device) {
  const std::string what = std::string(field) + " '" + t.name + "'";
  const int64_t width = v.input.shape.cols();
  TTT_CHECK(t.shape.volume() == width, ShapeMismatch,
            "{}: {} has {} values (shape {}), expected {}: one per element of the input's last dim (args.{})", v.op,
            what, t.shape.volume(), t.shape.str(), width, field);
  support::check_float(v.op, what, t.dtype);
  if (device.is_ttnn()) {
    // ttnn reads a TILE gamma like any tile operand, a ROW_MAJOR one as fp32/bf16 sticks.
    if (t.layout == Layout::TILE) {
      check_dtype_in(v.op, what, t.dtype, kTtnnNormDtypes);
    } else {
      check_dtype_in(v.op, what, t.dtype, {DataType::FLOAT32, DataType::BFLOAT16});
    }
  }
  support::check_placement(v.op, what, t, device);
}

TensorSpec norm_output(const NormView& v, const OpConfig& config) {
  return support::output_from_config(v.op, v.input.shape, config);
}

void validate_norm(const NormView& v, const OpConfig& config, const DeviceSpec& device) {
  const TensorSpec& in = v.input;
  TTT_CHECK(in.shape.rank() >= 1 && in.shape.cols() >= 1, ShapeMismatch,
            "{}: input '{}' has shape {}; it needs a last dim of at least 1 to normalise over (args.input)", v.op,
            in.name, in.shape.str());
  TTT_CHECK(std::isfinite(v.eps) && v.eps >= 0.f, InvalidConfig,
            "{}: eps {} must be finite and >= 0 (args.eps); the usual values are 1e-5 or 1e-6", v.op, v.eps);
  support::check_kernel_config(v.op, config, device, /*norm_config_ok=*/true);
  support::check_float(v.op, "input", in.dtype);
  support::check_float(v.op, "output (dtype)", config.dtype);
  const TensorSpec out = norm_output(v, config);
  if (device.is_ttnn()) {
    check_dtype_in(v.op, "input", in.dtype, kTtnnNormDtypes);
    check_dtype_in(v.op, "output (dtype)", config.dtype, kTtnnNormDtypes);
    TTT_CHECK(in.layout == Layout::TILE, InvalidConfig,
              "{}: input '{}' is {}; the ttnn norm kernels read TILE layout: tilize it first", v.op, in.name,
              to_string(in.layout));
    TTT_CHECK(config.layout == Layout::TILE, InvalidConfig,
              "{}: output layout {} is not produced by the ttnn norm kernels (layout); use TILE", v.op,
              to_string(config.layout));
  }
  support::check_placement(v.op, "input", in, device);
  support::check_placement(v.op, "output", out, device);
  if (v.gamma) check_affine(v, "gamma", *v.gamma, device);
  if (v.beta && *v.beta) check_affine(v, "beta", **v.beta, device);
  if (device.is_ttnn()) norm_detail::check_norm_program_config(v.op, in, out, config, device);
}

// Host rms_norm: the row's sum of squares, then one scaling pass, both SIMD.
void rms_norm_host(const NormView& v, const Tensor& input, const float* gamma, Tensor& out, int threads,
                   ThreadPool& pool) {
  const rows::RowKernels& k = rows::row_kernels();
  const rows::RowSource x = rows::row_source(input, 0);
  const rows::RowSink y = rows::row_sink(out, 3);
  const int64_t w = input.shape().cols();
  const double eps = v.eps;
  pool.parallel_for(
      input.shape().rows(),
      [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) {
          const void* xr = x.at(r * w);
          const double ss = k.sum_squares(xr, x.elem, w);
          const auto inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(w) + eps));
          k.scale(xr, x.elem, inv, gamma, y.at(r * w), y.elem, w);
        }
      },
      threads, rows::row_grain(w));
  rows::row_finish(y, out);
}

// Host layer_norm: two-pass mean and variance in double, output in fp32.
void layer_norm_host(const NormView& v, const Tensor& input, const float* gamma, const float* beta, Tensor& out,
                     int threads, ThreadPool& pool) {
  const rows::RowKernels& k = rows::row_kernels();
  const rows::RowSource x = rows::row_source(input, 0);
  const rows::RowSink y = rows::row_sink(out, 3);
  const int64_t w = input.shape().cols();
  pool.parallel_for(
      input.shape().rows(),
      [&](int64_t r0, int64_t r1, int) {
        // Per-thread fp32 rows for operands and results not held in fp32.
        float* buf = scratch(static_cast<std::size_t>(2 * w), 5).data();
        for (int64_t r = r0; r < r1; ++r) {
          const float* xs = static_cast<const float*>(x.at(r * w));
          if (x.elem != rows::Elem::F32) {
            k.convert(x.at(r * w), x.elem, buf, rows::Elem::F32, w);
            xs = buf;
          }
          double sum = 0;
          for (int64_t j = 0; j < w; ++j) sum += xs[j];
          const double mean = sum / static_cast<double>(w);
          double var = 0;
          for (int64_t j = 0; j < w; ++j) var += (xs[j] - mean) * (xs[j] - mean);
          const auto inv = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(w) + v.eps));
          const auto meanf = static_cast<float>(mean);
          float* o = y.elem == rows::Elem::F32 ? static_cast<float*>(y.at(r * w)) : buf + w;
          for (int64_t j = 0; j < w; ++j) {
            float t = (xs[j] - meanf) * inv;
            if (gamma) t *= gamma[j];
            if (beta) t += beta[j];
            o[j] = t;
          }
          if (y.elem != rows::Elem::F32) k.convert(o, rows::Elem::F32, y.at(r * w), y.elem, w);
        }
      },
      threads, rows::row_grain(w));
  rows::row_finish(y, out);
}

void run_norm(const NormView& v, const Tensor& input, const Tensor* gamma, const Tensor* beta, Tensor& out,
              const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(v.op, input, v.input);
  support::check_output(v.op, out, v.input.shape, config);
  TTT_CHECK(v.gamma.has_value() == (gamma != nullptr), InvalidConfig,
            "{}: args.gamma is {} but run() got {} gamma tensor", v.op, v.gamma ? "set" : "empty", gamma ? "a" : "no");
  const bool want_beta = v.beta && v.beta->has_value();
  TTT_CHECK(want_beta == (beta != nullptr), InvalidConfig, "{}: args.beta is {} but run() got {} beta tensor", v.op,
            want_beta ? "set" : "empty", beta ? "a" : "no");
  if (gamma) check_tensor_matches(v.op, *gamma, *v.gamma);
  if (beta) check_tensor_matches(v.op, *beta, **v.beta);

  const float* g = gamma ? load_float(*gamma, 1).data() : nullptr;
  const float* b = beta ? load_float(*beta, 2).data() : nullptr;
  const int threads = support::host_threads(config, ctx);
  if (!ctx.device.spec().is_ttnn()) {
    if (v.kind == NormKind::RMS) {
      rms_norm_host(v, input, g, out, threads, ctx.pool);
    } else {
      layer_norm_host(v, input, g, b, out, threads, ctx.pool);
    }
    return;
  }
  const std::span<const float> x = load_float(input, 0);
  const std::span<float> y = output_staging(out, 3);
  const norm_detail::TensixNormParams p{.kind = v.kind,
                                        .rows = input.shape().rows(),
                                        .width = input.shape().cols(),
                                        .eps = v.eps,
                                        .compute = config.compute_kernel_config};
  norm_detail::tensix_norm(p, x.data(), g, b, y.data(), ctx.pool, threads);
  store_float(y, out);
}

Cost cost_norm(const NormView& v, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, v.input, false);
  if (v.gamma) support::add_traffic(in, *v.gamma, false);
  if (v.beta && *v.beta) support::add_traffic(in, **v.beta, false);
  support::add_traffic(in, norm_output(v, config), true);
  const auto elems = static_cast<double>(v.input.shape.volume());
  const auto rows = static_cast<double>(v.input.shape.rows());
  // Per element: square, reduce-add, scale, gamma (+ centre, beta and a second pass for
  // layer_norm); per row: add eps and rsqrt, counted as ~10 SFPU operations.
  in.vector_flops = elems * (v.kind == NormKind::RMS ? 4.0 : 7.0) + rows * 10.0;
  in.cores = support::row_op_cores(v.input, device);
  in.fidelity = config.compute_kernel_config.math_fidelity;
  in.math_dtype = device.is_ttnn() ? v.input.dtype : DataType::FLOAT32;
  return estimate_cost(in, device);
}

}  // namespace

void RmsNormOp::validate(const RmsNormArgs& args, const OpConfig& config, const DeviceSpec& device) {
  validate_norm(view(args), config, device);
}
TensorSpec RmsNormOp::output_spec(const RmsNormArgs& args, const OpConfig& config) {
  return norm_output(view(args), config);
}
void RmsNormOp::run(const RmsNormArgs& args, const Tensor& input, const Tensor* gamma, Tensor& out,
                    const OpConfig& config, ExecContext& ctx) {
  run_norm(view(args), input, gamma, nullptr, out, config, ctx);
}
Cost RmsNormOp::cost(const RmsNormArgs& args, const OpConfig& config, const DeviceSpec& device) {
  return cost_norm(view(args), config, device);
}

void LayerNormOp::validate(const LayerNormArgs& args, const OpConfig& config, const DeviceSpec& device) {
  validate_norm(view(args), config, device);
}
TensorSpec LayerNormOp::output_spec(const LayerNormArgs& args, const OpConfig& config) {
  return norm_output(view(args), config);
}
void LayerNormOp::run(const LayerNormArgs& args, const Tensor& input, const Tensor* gamma, const Tensor* beta,
                      Tensor& out, const OpConfig& config, ExecContext& ctx) {
  run_norm(view(args), input, gamma, beta, out, config, ctx);
}
Cost LayerNormOp::cost(const LayerNormArgs& args, const OpConfig& config, const DeviceSpec& device) {
  return cost_norm(view(args), config, device);
}

}  // namespace ttt::ops
