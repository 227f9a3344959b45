#include "ops/layout/layout.hpp"

#include <cstring>

#include "ops/eltwise/op_support.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops {
namespace {

void validate_layout_op(const char* op, const TensorSpec& in, Layout from, Layout to, const OpConfig& config,
                        const DeviceSpec& device) {
  TTT_CHECK(in.layout == from, InvalidConfig, "{}: input '{}' is {}, expected {} (args.input)", op, in.name,
            to_string(in.layout), to_string(from));
  check_dtype_in(op, "input", in.dtype, {DataType::FLOAT32, DataType::BFLOAT16, DataType::INT32, DataType::UINT32});
  TTT_CHECK(config.dtype == in.dtype, InvalidConfig,
            "{}: dtype {} differs from the input's {} (dtype); {} keeps the dtype: set dtype {} or use typecast", op,
            to_string(config.dtype), to_string(in.dtype), op, to_string(in.dtype));
  TTT_CHECK(config.layout == to, InvalidConfig, "{}: layout {} is not what {} produces (layout); set layout {}", op,
            to_string(config.layout), op, to_string(to));
  support::check_kernel_config(op, config, device, false);
  support::check_placement(op, "input", in, device);
  support::check_placement(op, "output", support::output_from_config(op, in.shape, config), device);
}

Cost layout_cost(const TensorSpec& in, const TensorSpec& out, const DeviceSpec& device) {
  CostInputs c;
  support::add_traffic(c, in, false);
  support::add_traffic(c, out, true);
  c.cores = support::row_op_cores(in.layout == Layout::TILE ? in : out, device);
  return estimate_cost(c, device);
}

void run_layout_op(const char* op, const TensorSpec& expected_in, const Tensor& input, Tensor& out,
                   const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(op, input, expected_in);
  support::check_output(op, out, expected_in.shape, config);
  relayout(input.raw(), out.raw(), input.shape(), static_cast<std::size_t>(element_bytes(input.dtype())),
           input.layout(), out.layout(), ctx.pool, support::host_threads(config, ctx));
}

}  // namespace

void relayout(const void* src, void* dst, const Shape& shape, std::size_t elem_bytes, Layout from, Layout to,
              ThreadPool& pool, int threads) {
  if (from == to) {
    std::memcpy(dst, src, static_cast<std::size_t>(storage_bytes(shape, DataType::FLOAT32, from)) / 4 * elem_bytes);
    return;
  }
  // Each tile row (32 rows of one 2-D slice) maps to a contiguous run on both sides.
  const TileGeometry g = tile_geometry(shape);
  const int64_t items = g.batch * g.tile_rows();
  const auto eb = static_cast<int64_t>(elem_bytes);
  const auto* s = static_cast<const std::byte*>(src);
  auto* d = static_cast<std::byte*>(dst);
  pool.parallel_for(
      items,
      [&](int64_t i0, int64_t i1, int) {
        for (int64_t it = i0; it < i1; ++it) {
          const int64_t b = it / g.tile_rows(), tr = it % g.tile_rows();
          const int64_t row0 = tr * kTileSize;
          const int64_t nrows = std::min(kTileSize, g.height - row0);
          const Shape piece{nrows, g.width};
          const int64_t rm_offset = (b * g.height + row0) * g.width * eb;
          const int64_t tile_offset = (b * g.tile_rows() + tr) * g.tile_cols() * kTileElems * eb;
          if (to == Layout::TILE) {
            tilize(s + rm_offset, d + tile_offset, piece, elem_bytes);
          } else {
            untilize(s + tile_offset, d + rm_offset, piece, elem_bytes);
          }
        }
      },
      threads);
}

void TilizeOp::validate(const TilizeArgs& args, const OpConfig& config, const DeviceSpec& device) {
  validate_layout_op("tilize", args.input, Layout::ROW_MAJOR, Layout::TILE, config, device);
}
TensorSpec TilizeOp::output_spec(const TilizeArgs& args, const OpConfig& config) {
  return support::output_from_config("tilize", args.input.shape, config);
}
void TilizeOp::run(const TilizeArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx) {
  run_layout_op("tilize", args.input, input, out, config, ctx);
}
Cost TilizeOp::cost(const TilizeArgs& args, const OpConfig& config, const DeviceSpec& device) {
  return layout_cost(args.input, output_spec(args, config), device);
}

void UntilizeOp::validate(const UntilizeArgs& args, const OpConfig& config, const DeviceSpec& device) {
  validate_layout_op("untilize", args.input, Layout::TILE, Layout::ROW_MAJOR, config, device);
}
TensorSpec UntilizeOp::output_spec(const UntilizeArgs& args, const OpConfig& config) {
  return support::output_from_config("untilize", args.input.shape, config);
}
void UntilizeOp::run(const UntilizeArgs& args, const Tensor& input, Tensor& out, const OpConfig& config,
                     ExecContext& ctx) {
  run_layout_op("untilize", args.input, input, out, config, ctx);
}
Cost UntilizeOp::cost(const UntilizeArgs& args, const OpConfig& config, const DeviceSpec& device) {
  return layout_cost(args.input, output_spec(args, config), device);
}

}  // namespace ttt::ops
