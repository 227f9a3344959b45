#include "ops/ccl/ccl.hpp"

#include <cstring>
#include <string>

#include "ops/eltwise/op_support.hpp"
#include "ops/layout/layout.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops {
namespace {

// A shape seen around one dim: outer x extent x inner elements.
struct Around {
  int64_t outer = 1, extent = 1, inner = 1;
};

Around around(const Shape& s, int dim) {
  Around a;
  for (int d = 0; d < dim; ++d) a.outer *= s[d];
  a.extent = s[dim];
  for (int d = dim + 1; d < s.rank(); ++d) a.inner *= s[d];
  return a;
}

int checked_dim(const char* op, const Shape& shape, int dim) {
  const int rank = shape.rank();
  TTT_CHECK(rank >= 1 && dim >= -rank && dim < rank, InvalidConfig,
            "{}: dim {} is out of range for shape {} (args.dim); use a dim in [{}, {})", op, dim, shape.str(), -rank,
            rank);
  return dim < 0 ? dim + rank : dim;
}

// In TILE layout a slice along one of the last two dims must be whole tiles.
void check_tile_slices(const char* op, const TensorSpec& in, int dim, int64_t slice, const char* what) {
  if (in.layout != Layout::TILE || dim < in.shape.rank() - 2 || slice % kTileSize == 0) return;
  fail(ErrorKind::InvalidConfig,
       "{}: {} along dim {} of the TILE tensor '{}' {} is {} elements, not a multiple of 32 (args.dim); gather or "
       "scatter along a dim whose per-chip extent is tile-aligned, or use ROW_MAJOR",
       op, what, dim, in.name, in.shape.str(), slice);
}

void validate_common(const char* op, const std::vector<TensorSpec>& inputs, const OpConfig& config,
                     const DeviceSpec& device, bool sums) {
  support::check_kernel_config(op, config, device, false);
  const int chips = device.mesh.chips();
  TTT_CHECK(chips > 1, Unsupported,
            "{}: device {} has a single chip, so there is nothing to gather or reduce across; collectives need a "
            "multi-chip device such as ttnn:n300 (2 chips) or ttnn:t3k (8 chips)",
            op, device.name);
  TTT_CHECK(static_cast<int>(inputs.size()) == chips, ShapeMismatch,
            "{}: got {} per-chip input tensors, but {} has {} chips (args.inputs); give one tensor per chip, in chip "
            "order",
            op, inputs.size(), device.name, chips);
  const TensorSpec& first = inputs.front();
  for (std::size_t c = 1; c < inputs.size(); ++c) {
    const TensorSpec& t = inputs[c];
    TTT_CHECK(t.shape == first.shape && t.dtype == first.dtype && t.layout == first.layout, ShapeMismatch,
              "{}: chip {} input '{}' is {} {} {}, but chip 0 input '{}' is {} {} {} (args.inputs[{}]); every chip "
              "holds the same shape and format",
              op, c, t.name, t.shape.str(), to_string(t.dtype), to_string(t.layout), first.name, first.shape.str(),
              to_string(first.dtype), to_string(first.layout), c);
  }
  if (sums) support::check_float(op, "input", first.dtype);
  TTT_CHECK(config.dtype == first.dtype && config.layout == first.layout, InvalidConfig,
            "{}: the output keeps the input's format, {} {}, but the config asks for {} {} (dtype, layout); set "
            "dtype {} and layout {}, and typecast separately if needed",
            op, to_string(first.dtype), to_string(first.layout), to_string(config.dtype), to_string(config.layout),
            to_string(first.dtype), to_string(first.layout));
  for (const TensorSpec& t : inputs) support::check_placement(op, "input", t, device);
}

TensorSpec with_extent(const char* op, const TensorSpec& in, int dim, int64_t extent, const OpConfig& config) {
  Shape s = in.shape;
  s[dim] = extent;
  return support::output_from_config(op, s, config);
}

void check_run(const char* op, const std::vector<TensorSpec>& specs, std::span<const Tensor> inputs,
               std::span<Tensor> outputs, const Shape& out_shape, const OpConfig& config, const Device& device) {
  const auto chips = static_cast<std::size_t>(device.spec().mesh.chips());
  TTT_CHECK(inputs.size() == chips && outputs.size() == chips && specs.size() == chips, ShapeMismatch,
            "{}: got {} inputs and {} outputs for {} chips ({} specs in args); give one of each per chip", op,
            inputs.size(), outputs.size(), chips, specs.size());
  for (std::size_t c = 0; c < chips; ++c) {
    check_tensor_matches(op, inputs[c], specs[c]);
    support::check_output(op, outputs[c], out_shape, config);
  }
}

// Chip 0's output bytes to every other chip's output.
void replicate(std::span<Tensor> outputs) {
  for (std::size_t c = 1; c < outputs.size(); ++c) {
    std::memcpy(outputs[c].raw(), outputs[0].raw(), static_cast<std::size_t>(outputs[0].bytes()));
  }
}

// All chips' inputs decoded to fp32, chip after chip, in scratch slot 0.
float* decode_all(std::span<const Tensor> inputs) {
  const auto vol = static_cast<std::size_t>(inputs[0].shape().volume());
  float* all = scratch(vol * inputs.size(), 0).data();
  for (std::size_t c = 0; c < inputs.size(); ++c) to_float(inputs[c], std::span<float>(all + c * vol, vol));
  return all;
}

// acc (the slice's shape) = or += slice `slice` of `src` (the full shape), along `a`.
void add_slice(float* acc, const float* src, const Around& a, int64_t slice_extent, int64_t slice, bool first) {
  const int64_t run = slice_extent * a.inner;
  for (int64_t o = 0; o < a.outer; ++o) {
    const float* s = src + (o * a.extent + slice * slice_extent) * a.inner;
    float* d = acc + o * run;
    if (first) {
      std::memcpy(d, s, static_cast<std::size_t>(run) * sizeof(float));
    } else {
      for (int64_t i = 0; i < run; ++i) d[i] += s[i];
    }
  }
}

// The sum of slice `slice` over all chips, in the device's order and rounding (see ccl.hpp).
void slice_sum(float* acc, const float* all, int64_t vol, int chips, const Around& a, int64_t slice_extent,
               int64_t slice, const Shape& slice_shape, DataType dtype, bool ring) {
  for (int step = 0; step < chips; ++step) {
    // Ring: start on the chip after the owner and end on the owner.
    const int chip = ring ? static_cast<int>((slice + 1 + step) % chips) : step;
    add_slice(acc, all + chip * vol, a, slice_extent, slice, step == 0);
    if (ring && step > 0)
      round_to_dtype(std::span<float>(acc, static_cast<std::size_t>(slice_shape.volume())), slice_shape, dtype);
  }
}

}  // namespace

void round_to_dtype(std::span<float> values, const Shape& shape, DataType dtype) {
  if (dtype == DataType::BFLOAT16) {
    for (float& v : values) v = bfloat16_to_float(float_to_bfloat16(v));
    return;
  }
  if (!is_block_float(dtype)) return;
  for_each_face_row(tile_geometry(shape), [&](const FaceRow& row) {
    if (row.valid == 0) return;
    float face[kBfpRowElems] = {};
    uint8_t codes[kBfpRowElems];
    float* at = values.data() + row.logical_offset;
    std::memcpy(face, at, static_cast<std::size_t>(row.valid) * sizeof(float));
    const uint8_t exp = encode_bfp_row(dtype, face, codes);
    decode_bfp_row(dtype, exp, codes, face);
    std::memcpy(at, face, static_cast<std::size_t>(row.valid) * sizeof(float));
  });
}

// ---------------------------------------------------------------------------------------
// all_gather
// ---------------------------------------------------------------------------------------

void AllGatherOp::validate(const AllGatherArgs& args, const OpConfig& config, const DeviceSpec& device) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "all_gather: no input tensors (args.inputs); give one per chip");
  validate_common("all_gather", args.inputs, config, device, false);
  const TensorSpec& in = args.inputs.front();
  const int dim = checked_dim("all_gather", in.shape, args.dim);
  check_tile_slices("all_gather", in, dim, in.shape[dim], "each chip's extent");
  support::check_placement("all_gather", "output", output_spec(args, config), device);
}

TensorSpec AllGatherOp::output_spec(const AllGatherArgs& args, const OpConfig& config) {
  const TensorSpec& in = args.inputs.front();
  const int dim = checked_dim("all_gather", in.shape, args.dim);
  return with_extent("all_gather", in, dim, in.shape[dim] * static_cast<int64_t>(args.inputs.size()), config);
}

void AllGatherOp::run(const AllGatherArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                      const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "all_gather: no input tensors (args.inputs); give one per chip");
  const Shape& shape = args.inputs.front().shape;
  const int dim = checked_dim("all_gather", shape, args.dim);
  Shape out_shape = shape;
  out_shape[dim] *= static_cast<int64_t>(args.inputs.size());
  check_run("all_gather", args.inputs, inputs, outputs, out_shape, config, ctx.device);
  const Around a = around(shape, dim);
  const auto chips = static_cast<int64_t>(inputs.size());
  const DataType dtype = inputs[0].dtype();
  const Layout layout = inputs[0].layout();
  // Whole-byte elements are moved as bytes (exact for every value, integers included);
  // block floats go through fp32, which re-packs tile-aligned slices exactly.
  const bool bytes = !is_block_float(dtype);
  const int64_t eb = bytes ? element_bytes(dtype) : 4;
  const int64_t in_vol = shape.volume();
  const auto in_bytes = static_cast<std::size_t>(in_vol * eb);
  const bool direct = bytes && layout == Layout::ROW_MAJOR;
  std::byte* gathered = direct
                            ? outputs[0].raw()
                            : reinterpret_cast<std::byte*>(scratch(static_cast<std::size_t>(in_vol * chips), 2).data());
  const int64_t run_bytes = a.extent * a.inner * eb;
  for (int64_t c = 0; c < chips; ++c) {
    const std::byte* rm = nullptr;
    if (!bytes) {
      const auto f = scratch(static_cast<std::size_t>(in_vol), 1);
      to_float(inputs[static_cast<std::size_t>(c)], f);
      rm = reinterpret_cast<const std::byte*>(f.data());
    } else if (layout == Layout::ROW_MAJOR) {
      rm = inputs[static_cast<std::size_t>(c)].raw();
    } else {
      auto* tmp = reinterpret_cast<std::byte*>(scratch((in_bytes + 3) / 4, 1).data());
      relayout(inputs[static_cast<std::size_t>(c)].raw(), tmp, shape, static_cast<std::size_t>(eb), Layout::TILE,
               Layout::ROW_MAJOR, ctx.pool, ctx.threads);
      rm = tmp;
    }
    for (int64_t o = 0; o < a.outer; ++o) {
      std::memcpy(gathered + (o * chips + c) * run_bytes, rm + o * run_bytes, static_cast<std::size_t>(run_bytes));
    }
  }
  if (!bytes) {
    store_float(
        std::span<const float>(reinterpret_cast<const float*>(gathered), static_cast<std::size_t>(in_vol * chips)),
        outputs[0]);
  } else if (!direct) {
    relayout(gathered, outputs[0].raw(), out_shape, static_cast<std::size_t>(eb), Layout::ROW_MAJOR, layout, ctx.pool,
             ctx.threads);
  }
  replicate(outputs);
}

Cost AllGatherOp::cost(const AllGatherArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  const TensorSpec& x = args.inputs.front();
  const int chips = device.mesh.chips();
  support::add_traffic(in, x, false);
  support::add_traffic(in, output_spec(args, config), true);
  in.collective_steps = chips - 1;
  in.collective_bytes = (chips - 1) * stored_bytes(x);  // each step forwards one chip's slice
  return estimate_cost(in, device);
}

// ---------------------------------------------------------------------------------------
// reduce_scatter
// ---------------------------------------------------------------------------------------

void ReduceScatterOp::validate(const ReduceScatterArgs& args, const OpConfig& config, const DeviceSpec& device) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "reduce_scatter: no input tensors (args.inputs); give one per chip");
  validate_common("reduce_scatter", args.inputs, config, device, true);
  const TensorSpec& in = args.inputs.front();
  const int dim = checked_dim("reduce_scatter", in.shape, args.dim);
  const int64_t chips = device.mesh.chips();
  TTT_CHECK(in.shape[dim] % chips == 0, ShapeMismatch,
            "reduce_scatter: dim {} of '{}' {} has extent {}, which does not split into {} equal slices for the {} "
            "chips of {} (args.dim); use a dim whose extent is a multiple of {}",
            dim, in.name, in.shape.str(), in.shape[dim], chips, chips, device.name, chips);
  check_tile_slices("reduce_scatter", in, dim, in.shape[dim] / chips, "each chip's slice");
  support::check_placement("reduce_scatter", "output", output_spec(args, config), device);
}

TensorSpec ReduceScatterOp::output_spec(const ReduceScatterArgs& args, const OpConfig& config) {
  const TensorSpec& in = args.inputs.front();
  const int dim = checked_dim("reduce_scatter", in.shape, args.dim);
  const auto chips = static_cast<int64_t>(args.inputs.size());
  return with_extent("reduce_scatter", in, dim, in.shape[dim] / chips, config);
}

void ReduceScatterOp::run(const ReduceScatterArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                          const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "reduce_scatter: no input tensors (args.inputs); give one per chip");
  const Shape& shape = args.inputs.front().shape;
  const int dim = checked_dim("reduce_scatter", shape, args.dim);
  Shape out_shape = shape;
  out_shape[dim] /= static_cast<int64_t>(args.inputs.size());
  check_run("reduce_scatter", args.inputs, inputs, outputs, out_shape, config, ctx.device);
  const Around a = around(shape, dim);
  const int chips = static_cast<int>(inputs.size());
  const int64_t vol = shape.volume();
  const int64_t slice_extent = a.extent / chips;
  const bool ring = ctx.device.spec().is_ttnn();
  const float* all = decode_all(inputs);
  const auto acc = scratch(static_cast<std::size_t>(out_shape.volume()), 1);
  for (int c = 0; c < chips; ++c) {
    slice_sum(acc.data(), all, vol, chips, a, slice_extent, c, out_shape, inputs[0].dtype(), ring);
    store_float(acc, outputs[static_cast<std::size_t>(c)]);
  }
}

Cost ReduceScatterOp::cost(const ReduceScatterArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  const TensorSpec& x = args.inputs.front();
  const int chips = device.mesh.chips();
  support::add_traffic(in, x, false);
  support::add_traffic(in, output_spec(args, config), true);
  in.collective_steps = chips - 1;
  in.collective_bytes = (chips - 1) * stored_bytes(x) / chips;
  in.vector_flops = static_cast<double>(chips - 1) * static_cast<double>(x.shape.volume()) / chips;
  return estimate_cost(in, device);
}

// ---------------------------------------------------------------------------------------
// all_reduce
// ---------------------------------------------------------------------------------------

void AllReduceOp::validate(const AllReduceArgs& args, const OpConfig& config, const DeviceSpec& device) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "all_reduce: no input tensors (args.inputs); give one per chip");
  validate_common("all_reduce", args.inputs, config, device, true);
  TTT_CHECK(args.inputs.front().shape.rank() >= 1, ShapeMismatch,
            "all_reduce: input '{}' has rank 0; give at least a vector (args.inputs)", args.inputs.front().name);
  support::check_placement("all_reduce", "output", output_spec(args, config), device);
}

TensorSpec AllReduceOp::output_spec(const AllReduceArgs& args, const OpConfig& config) {
  return support::output_from_config("all_reduce", args.inputs.front().shape, config);
}

void AllReduceOp::run(const AllReduceArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                      const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(!args.inputs.empty(), ShapeMismatch, "all_reduce: no input tensors (args.inputs); give one per chip");
  const Shape& shape = args.inputs.front().shape;
  check_run("all_reduce", args.inputs, inputs, outputs, shape, config, ctx.device);
  const int chips = static_cast<int>(inputs.size());
  const int64_t vol = shape.volume();
  const DataType dtype = inputs[0].dtype();
  const bool ring = ctx.device.spec().is_ttnn();
  // As tt-metal's all_reduce chooses (choose_all_reduce_strategy): the last dim that splits
  // into `chips` slices (whole tiles in TILE layout) is reduce-scattered and gathered back.
  int dim = -1;
  for (int d = 0; d < shape.rank(); ++d) {
    const bool even = shape[d] % chips == 0;
    const bool tiled_dim = inputs[0].layout() == Layout::TILE && d >= shape.rank() - 2;
    if (even && (!tiled_dim || (shape[d] / chips) % kTileSize == 0)) dim = d;
  }
  const float* all = decode_all(inputs);
  const auto result = scratch(static_cast<std::size_t>(vol), 2);
  if (dim >= 0) {
    const Around a = around(shape, dim);
    const int64_t slice_extent = a.extent / chips;
    Shape slice_shape = shape;
    slice_shape[dim] = slice_extent;
    const auto acc = scratch(static_cast<std::size_t>(slice_shape.volume()), 1);
    const int64_t run = slice_extent * a.inner;
    for (int c = 0; c < chips; ++c) {
      slice_sum(acc.data(), all, vol, chips, a, slice_extent, c, slice_shape, dtype, ring);
      for (int64_t o = 0; o < a.outer; ++o) {
        std::memcpy(result.data() + o * a.extent * a.inner + c * run, acc.data() + o * run,
                    static_cast<std::size_t>(run) * sizeof(float));
      }
    }
  } else {
    // all_gather, then each chip sums the gathered tensors in chip order (a device rounds
    // after every addition).
    std::memcpy(result.data(), all, static_cast<std::size_t>(vol) * sizeof(float));
    for (int c = 1; c < chips; ++c) {
      for (int64_t i = 0; i < vol; ++i) result[static_cast<std::size_t>(i)] += all[c * vol + i];
      if (ring) round_to_dtype(result, shape, dtype);
    }
  }
  store_float(result, outputs[0]);
  replicate(outputs);
}

Cost AllReduceOp::cost(const AllReduceArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  const TensorSpec& x = args.inputs.front();
  const int chips = device.mesh.chips();
  support::add_traffic(in, x, false);
  support::add_traffic(in, output_spec(args, config), true);
  in.collective_steps = 2 * (chips - 1);
  in.collective_bytes = 2.0 * (chips - 1) * stored_bytes(x) / chips;
  in.vector_flops = static_cast<double>(chips - 1) * static_cast<double>(x.shape.volume()) / chips;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
