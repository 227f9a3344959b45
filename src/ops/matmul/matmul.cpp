// The matmul op: checks, output spec, cost, and the staging around the host kernels and
// the Tensix model.
#include "ops/matmul/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <variant>

#include "ops/matmul/matmul_internal.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops {

using matmul_detail::kOp;

namespace {

const UnaryActivation* config_activation(const ProgramConfig& pc) {
  if (const auto* c = std::get_if<Matmul2DConfig>(&pc)) return &c->fused_activation;
  if (const auto* c = std::get_if<Matmul1DConfig>(&pc)) return &c->fused_activation;
  if (const auto* c = std::get_if<MatmulDramShardedConfig>(&pc)) return &c->fused_activation;
  return nullptr;
}

int64_t leading_volume(const Shape& s, int keep) {
  int64_t v = 1;
  for (int i = 0; i < s.rank() - keep; ++i) v *= s[i];
  return v;
}

void check_float(std::string_view what, DataType t) {
  check_dtype_in(kOp, what, t, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
}

void check_shapes(const MatmulArgs& args) {
  const Shape& xs = args.x.shape;
  const Shape& ws = args.weight.shape;
  TTT_CHECK(xs.rank() >= 1, ShapeMismatch, "{}: x has rank 0; expected [..., M, K]", kOp);
  TTT_CHECK(ws.rank() >= 2, ShapeMismatch, "{}: weight has shape {}; expected [K, N]", kOp, ws.str());
  TTT_CHECK(leading_volume(ws, 3) == 1, Unsupported,
            "{}: weight {} has leading dims beyond [S, K, N / S]; batched weights are not supported, use [K, N]",
            kOp, ws.str());
  if (ws.rank() >= 3 && ws[-3] > 1) {
    TTT_CHECK(args.weight.layout == Layout::TILE && ws[-1] % kTileSize == 0, Unsupported,
              "{}: weight {} is {} columns in {} shards of {} ({}); column shards need TILE layout and a shard "
              "width that is a multiple of 32, use [K, N] otherwise",
              kOp, ws.str(), matmul_weight_n(ws), ws[-3], ws[-1], to_string(args.weight.layout));
  }
  TTT_CHECK(xs[-1] == ws[-2], ShapeMismatch, "{}: x {} has K = {} but weight {} has {} rows (weight.shape[-2])", kOp,
            xs.str(), xs[-1], ws.str(), ws[-2]);
  TTT_CHECK(xs[-1] > 0 && ws[-1] > 0 && xs.volume() > 0, ShapeMismatch, "{}: empty operand: x {}, weight {}", kOp,
            xs.str(), ws.str());
  if (args.bias) {
    const Shape& bs = args.bias->shape;
    const int64_t n = matmul_weight_n(ws);
    TTT_CHECK(bs.rank() >= 1 && bs[-1] == n && bs.volume() == n, ShapeMismatch,
              "{}: bias has shape {}; expected [{}] (N values, leading dims of 1 allowed)", kOp, bs.str(), n);
  }
}

// x rows padded with zeros to kpad columns, rounded to bfloat16 (nearest even) if asked.
struct StageX {
  const float* src = nullptr;  // rows x k
  int64_t rows = 0, k = 0, kpad = 0;
  bool round_bf16 = false;
  float* dst = nullptr;  // rows x kpad
};

void stage_x(const StageX& s, ExecContext& ctx) {
  ctx.pool.parallel_for(
      s.rows,
      [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) {
          const float* src = s.src + r * s.k;
          float* dst = s.dst + r * s.kpad;
          if (s.round_bf16) {
            for (int64_t i = 0; i < s.k; ++i) dst[i] = bfloat16_to_float(float_to_bfloat16(src[i]));
          } else {
            std::memcpy(dst, src, static_cast<std::size_t>(s.k) * sizeof(float));
          }
          std::fill(dst + s.k, dst + s.kpad, 0.0f);
        }
      },
      ctx.threads, std::max<int64_t>(1, 16384 / s.kpad));
}

}  // namespace

int64_t matmul_weight_n(const Shape& weight) {
  return weight.rank() >= 3 ? weight[-3] * weight[-1] : weight[-1];
}

MatmulDims matmul_dims(const MatmulArgs& args) {
  MatmulDims d;
  const Shape& xs = args.x.shape;
  d.k = xs[-1];
  d.n = matmul_weight_n(args.weight.shape);
  d.m = xs.rank() >= 2 ? xs[-2] : 1;
  d.batch = xs.rank() >= 2 ? leading_volume(xs, 2) : 1;
  d.rows = d.batch * d.m;
  return d;
}

UnaryActivation matmul_activation(const MatmulArgs& args, const OpConfig& config) {
  if (args.activation != UnaryActivation::NONE) return args.activation;
  const UnaryActivation* a = config_activation(config.kernel_config);
  return a ? *a : UnaryActivation::NONE;
}

void MatmulOp::validate(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device) {
  check_shapes(args);
  check_float("x", args.x.dtype);
  check_float("weight", args.weight.dtype);
  if (args.bias) check_float("bias", args.bias->dtype);
  check_float("output (config.dtype)", config.dtype);
  TTT_CHECK(config.sharding == ChipSplit::REPLICATED || device.mesh.chips() > 1, InvalidConfig,
            "{}: sharding {} splits the weights over chips, but {} has one chip; use sharding: REPLICATED", kOp,
            to_string(config.sharding), device.name);
  TTT_CHECK(!is_block_float(config.dtype) || config.layout == Layout::TILE, InvalidConfig,
            "{}: output dtype {} needs TILE layout, config.layout is {}", kOp, to_string(config.dtype),
            to_string(config.layout));
  if (const UnaryActivation* fused = config_activation(config.kernel_config)) {
    TTT_CHECK(args.activation == UnaryActivation::NONE || *fused == UnaryActivation::NONE ||
                  *fused == args.activation,
              InvalidConfig, "{}: activation {} disagrees with kernel_config.fused_activation {}; set only one", kOp,
              to_string(args.activation), to_string(*fused));
  }
  const ProgramConfig& pc = config.kernel_config;
  if (!device.is_ttnn()) {
    TTT_CHECK(std::holds_alternative<std::monostate>(pc) || std::holds_alternative<CpuKernelConfig>(pc),
              InvalidConfig, "{}: kernel_config {} is a ttnn program config; on {} use none or cpu", kOp,
              VariantNames<ProgramConfig>::names[pc.index()], device.name);
    if (const auto* c = std::get_if<CpuKernelConfig>(&pc)) {
      TTT_CHECK(c->threads >= 0 && c->block_m >= 0, InvalidConfig,
                "{}: kernel_config.threads {} / block_m {} must be >= 0", kOp, c->threads, c->block_m);
      TTT_CHECK(c->block_n >= 0 && c->block_n % kTileSize == 0, InvalidConfig,
                "{}: kernel_config.block_n {} is not a multiple of 32; use 0 (default 256) or 32, 64, 128, ...", kOp,
                c->block_n);
      TTT_CHECK(c->block_k >= 0 && c->block_k % kTileSize == 0, InvalidConfig,
                "{}: kernel_config.block_k {} is not a multiple of 32; use 0 (default 256) or 32, 64, 128, ...", kOp,
                c->block_k);
    }
    return;
  }
  // ttnn: the matmul kernels read and write tiles.
  TTT_CHECK(args.x.layout == Layout::TILE, InvalidConfig,
            "{}: x is {} on {}; ttnn matmul reads TILE layout (convert x with to_layout TILE)", kOp,
            to_string(args.x.layout), device.name);
  TTT_CHECK(args.weight.layout == Layout::TILE, InvalidConfig,
            "{}: weight is {} on {}; ttnn matmul reads TILE layout (cache the weight as TILE)", kOp,
            to_string(args.weight.layout), device.name);
  TTT_CHECK(args.weight.shape.rank() < 3 || args.weight.shape[-3] == 1, Unsupported,
            "{}: weight {} is in column shards, a host layout; on {} give the weight as [K, N]", kOp,
            args.weight.shape.str(), device.name);
  TTT_CHECK(config.layout == Layout::TILE, InvalidConfig,
            "{}: config.layout {} on {}; ttnn matmul writes TILE layout", kOp, to_string(config.layout), device.name);
  TTT_CHECK(!std::holds_alternative<CpuKernelConfig>(pc) && !std::holds_alternative<SdpaConfig>(pc) &&
                !std::holds_alternative<NormConfig>(pc),
            InvalidConfig,
            "{}: kernel_config {} is not a matmul program config; use none, matmul_reuse, matmul_2d, matmul_1d or "
            "matmul_dram_sharded",
            kOp, VariantNames<ProgramConfig>::names[pc.index()]);
  const Shape out_shape = output_spec(args, config).shape;
  if (config.memory_config.is_sharded()) {
    check_sharding(out_shape, config.dtype, config.layout, config.memory_config, device.grid, "matmul output");
  }
  if (args.x.memory_config.is_sharded()) {
    check_sharding(args.x.shape, args.x.dtype, args.x.layout, args.x.memory_config, device.grid, "matmul x");
  }
  matmul_detail::check_program_config(args, config, device);
}

TensorSpec MatmulOp::output_spec(const MatmulArgs& args, const OpConfig& config) {
  Shape shape = args.x.shape;
  shape[-1] = matmul_weight_n(args.weight.shape);
  TensorSpec out;
  out.name = config.op_name.empty() ? std::string(kOp) : config.op_name;
  out.shape = shape;
  out.dtype = config.dtype;
  out.layout = config.layout;
  out.memory_config = config.memory_config;
  return out;
}

Cost MatmulOp::cost(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const MatmulDims d = matmul_dims(args);
  CostInputs in;
  const bool ttnn = device.is_ttnn();
  const double rows = ttnn ? static_cast<double>(d.batch * round_up(d.m, kTileSize)) : static_cast<double>(d.rows);
  const double k = ttnn ? static_cast<double>(round_up(d.k, kTileSize)) : static_cast<double>(d.k);
  const double n = ttnn ? static_cast<double>(round_up(d.n, kTileSize)) : static_cast<double>(d.n);
  // Tensor parallel: the args are one chip's share (its column or row slice of the
  // weights), so the cost is one chip's time; config.sharding only records the split.
  in.matmul_flops = 2.0 * rows * k * n;
  auto add_read = [&](const TensorSpec& s) {
    (s.memory_config.buffer_type == BufferType::DRAM ? in.dram_read_bytes : in.l1_bytes) += stored_bytes(s);
  };
  add_read(args.weight);
  add_read(args.x);
  if (args.bias) add_read(*args.bias);
  const TensorSpec out = output_spec(args, config);
  (out.memory_config.buffer_type == BufferType::DRAM ? in.dram_write_bytes : in.l1_bytes) += stored_bytes(out);
  if (ttnn) {
    in.fidelity = config.compute_kernel_config.math_fidelity;
    in.math_dtype = args.weight.dtype;
    std::visit(
        [&](const auto& c) {
          using C = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<C, MatmulReuseConfig> || std::is_same_v<C, Matmul2DConfig> ||
                        std::is_same_v<C, Matmul1DConfig>) {
            in.cores = c.grid.count();
          } else if constexpr (std::is_same_v<C, MatmulDramShardedConfig>) {
            in.cores = args.x.memory_config.shard_spec ? args.x.memory_config.shard_spec->grid.count() : 0;
          }
        },
        config.kernel_config);
  } else {
    const auto* c = std::get_if<CpuKernelConfig>(&config.kernel_config);
    in.cores = c ? c->threads : 0;
    // The GEMV and the GEMM both multiply bfloat16 against non-fp32 weights.
    in.math_dtype = matmul_detail::host_bf16_math(args.weight.dtype) ? DataType::BFLOAT16 : DataType::FLOAT32;
  }
  return estimate_cost(in, device);
}

void MatmulOp::run(const MatmulArgs& args, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out,
                   const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kOp, x, args.x);
  check_tensor_matches(kOp, weight, args.weight);
  TTT_CHECK((bias != nullptr) == args.bias.has_value(), InvalidConfig,
            "{}: bias tensor {} but args.bias {}", kOp, bias ? "given" : "missing",
            args.bias ? "is set" : "is empty");
  if (bias) check_tensor_matches(kOp, *bias, *args.bias);
  // The output against output_spec(), field by field (building the spec would copy the
  // op name, an allocation in the steady state).
  Shape out_shape = args.x.shape;
  out_shape[-1] = matmul_weight_n(args.weight.shape);
  TTT_CHECK(out.defined(), InvalidConfig, "{}: output tensor has no storage", kOp);
  check_same_shape(kOp, "output", out.shape(), out_shape);
  TTT_CHECK(out.dtype() == config.dtype && out.layout() == config.layout, ShapeMismatch,
            "{}: output is {} {}, the config asks for {} {}", kOp, to_string(out.dtype()), to_string(out.layout()),
            to_string(config.dtype), to_string(config.layout));

  using namespace matmul_detail;
  const MatmulDims d = matmul_dims(args);
  RunInputs in;
  in.dims = &d;
  in.x_tensor = &x;
  in.w = weight_view(weight);
  in.activation = matmul_activation(args, config);
  in.kpad = round_up(d.k, kTileSize);
  const bool host = !ctx.device.spec().is_ttnn();
  // The host rounds an fp32 x to bfloat16 against bfloat16 / block-float weights (see
  // host_bf16_math); other x dtypes are exact in bfloat16 already.
  const bool round_x = host && x.dtype() == DataType::FLOAT32 && weight.dtype() != DataType::FLOAT32;
  if (x.dtype() == DataType::FLOAT32 && x.layout() == Layout::ROW_MAJOR && d.k == in.kpad && !round_x) {
    in.x = x.data<const float>();
  } else {
    const std::span<const float> staged = load_float(x, kSlotXStage);
    const std::span<float> padded = scratch(static_cast<std::size_t>(d.rows * in.kpad), kSlotXPad);
    stage_x({.src = staged.data(), .rows = d.rows, .k = d.k, .kpad = in.kpad, .round_bf16 = round_x,
             .dst = padded.data()},
            ctx);
    in.x = padded.data();
  }
  if (bias) in.bias = load_float(*bias, kSlotBias).data();
  const std::span<float> y = output_staging(out, kSlotOut);
  in.y = y.data();
  if (host) {
    run_host(in, config, ctx);
  } else {
    run_tensix(in, config, ctx);
  }
  if (out.dtype() != DataType::FLOAT32 || out.layout() != Layout::ROW_MAJOR) store_float(y, out);
}

namespace matmul_detail {

WeightView weight_view(const Tensor& w) {
  WeightView v;
  v.dtype = w.dtype();
  v.layout = w.layout();
  v.data = w.data<const uint8_t>();
  v.k = w.shape()[-2];
  v.n = w.shape()[-1];
  v.kt = ceil_div(v.k, kTileSize);
  v.tile_bytes = tile_bytes(v.dtype);
  if (w.shape().rank() >= 3 && w.shape()[-3] > 1) {
    v.n = matmul_weight_n(w.shape());
    v.shard_nt = w.shape()[-1] / kTileSize;
  }
  v.nt = ceil_div(v.n, kTileSize);
  return v;
}

bool host_bf16_math(DataType w) { return w != DataType::FLOAT32; }

}  // namespace matmul_detail

}  // namespace ttt::ops
