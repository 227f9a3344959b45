#include "ops/embedding/embedding.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "ops/eltwise/op_support.hpp"
#include "ops/eltwise/row_kernels.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops {
namespace {

constexpr const char* kOp = "embedding";

// "[1, 5]": the multi-index of flat position `flat` in `shape`.
std::string position(const Shape& shape, int64_t flat) {
  std::array<int64_t, Shape::kMaxRank> index{};
  for (int d = shape.rank() - 1; d >= 0; --d) {
    const int64_t extent = std::max<int64_t>(1, shape[d]);
    index[static_cast<std::size_t>(d)] = flat % extent;
    flat /= extent;
  }
  return fmt::format("[{}]", fmt::join(index.begin(), index.begin() + shape.rank(), ", "));
}

// Reads id `flat` (row-major position) of an INT32/UINT32 tensor in either layout.
class IdReader {
 public:
  explicit IdReader(const Tensor& t)
      : base_(t.raw()),
        unsigned_(t.dtype() == DataType::UINT32),
        tiled_(t.layout() == Layout::TILE),
        g_(tile_geometry(t.shape())) {}

  int64_t operator()(int64_t flat) const {
    int64_t at = flat;
    if (tiled_) {
      const int64_t j = flat % g_.width;
      const int64_t i = (flat / g_.width) % g_.height;
      const int64_t b = flat / (g_.width * g_.height);
      const int64_t tile = (b * g_.tile_rows() + i / kTileSize) * g_.tile_cols() + j / kTileSize;
      at = tile * kTileElems + tile_element_index(i % kTileSize, j % kTileSize);
    }
    if (unsigned_) return reinterpret_cast<const uint32_t*>(base_)[at];
    return reinterpret_cast<const int32_t*>(base_)[at];
  }

 private:
  const std::byte* base_;
  bool unsigned_;
  bool tiled_;
  TileGeometry g_;
};

template <typename IdAt>
void gather(const EmbeddingArgs& args, IdAt&& id_at, const Tensor& table, Tensor& out, const OpConfig& config,
            ExecContext& ctx) {
  const int64_t n = args.ids.shape.volume();
  const int64_t vocab = table.shape().rows();
  const int64_t hidden = table.shape().cols();
  // Every id is checked before any row is written: worker threads must not throw.
  for (int64_t t = 0; t < n; ++t) {
    const int64_t id = id_at(t);
    TTT_CHECK(id >= 0 && id < vocab, InvalidConfig,
              "{}: token id {} at position {} of ids '{}' {} is out of range for vocab size {}; ids must be in "
              "[0, {})",
              kOp, id, position(args.ids.shape, t), args.ids.name, args.ids.shape.str(), vocab, vocab);
  }
  const rows::RowKernels& k = rows::row_kernels();
  const rows::RowSource src{table.raw(), table.dtype() == DataType::BFLOAT16 ? rows::Elem::BF16 : rows::Elem::F32};
  const rows::RowSink dst = rows::row_sink(out, 2);
  ctx.pool.parallel_for(
      n,
      [&](int64_t t0, int64_t t1, int) {
        // Same element format on both sides: convert() is a plain copy.
        for (int64_t t = t0; t < t1; ++t)
          k.convert(src.at(id_at(t) * hidden), src.elem, dst.at(t * hidden), dst.elem, hidden);
      },
      support::host_threads(config, ctx));
  rows::row_finish(dst, out);
}

void check_run_tensors(const EmbeddingArgs& args, const Tensor& table, const Tensor& out, const OpConfig& config) {
  check_tensor_matches(kOp, table, args.table);
  Shape shape = args.ids.shape;
  shape.push_back(args.table.shape.cols());
  support::check_output(kOp, out, shape, config);
}

}  // namespace

void EmbeddingOp::validate(const EmbeddingArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const TensorSpec& ids = args.ids;
  const TensorSpec& table = args.table;
  TTT_CHECK(ids.shape.rank() >= 1 && ids.shape.rank() < Shape::kMaxRank, ShapeMismatch,
            "{}: ids '{}' has rank {}; give ids as [batch, seq] (rank 1 to {}) (args.ids)", kOp, ids.name,
            ids.shape.rank(), Shape::kMaxRank - 1);
  check_dtype_in(kOp, "ids", ids.dtype, {DataType::INT32, DataType::UINT32});
  TTT_CHECK(table.shape.rank() >= 2 && table.shape.rows() >= 1 && table.shape.cols() >= 1, ShapeMismatch,
            "{}: table '{}' has shape {}; expected [vocab, hidden] (args.table)", kOp, table.name, table.shape.str());
  TTT_CHECK(table.layout == Layout::ROW_MAJOR, InvalidConfig,
            "{}: table '{}' is {}; embedding tables are ROW_MAJOR (one row per token): untilize it", kOp, table.name,
            to_string(table.layout));
  if (device.is_ttnn()) {
    check_dtype_in(kOp, "table", table.dtype, {DataType::BFLOAT16});
    check_dtype_in(kOp, "output (dtype)", config.dtype, {DataType::BFLOAT16, DataType::FLOAT32});
  } else {
    check_dtype_in(kOp, "table", table.dtype, {DataType::FLOAT32, DataType::BFLOAT16});
    support::check_float(kOp, "output (dtype)", config.dtype);
  }
  support::check_kernel_config(kOp, config, device, false);
  support::check_placement(kOp, "ids", ids, device);
  support::check_placement(kOp, "table", table, device);
  support::check_placement(kOp, "output", output_spec(args, config), device);
}

TensorSpec EmbeddingOp::output_spec(const EmbeddingArgs& args, const OpConfig& config) {
  Shape shape = args.ids.shape;
  shape.push_back(args.table.shape.cols());
  return support::output_from_config(kOp, shape, config);
}

void EmbeddingOp::run(const EmbeddingArgs& args, const Tensor& ids, const Tensor& table, Tensor& out,
                      const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kOp, ids, args.ids);
  check_run_tensors(args, table, out, config);
  gather(args, IdReader(ids), table, out, config, ctx);
}

void EmbeddingOp::run(const EmbeddingArgs& args, std::span<const int32_t> ids, const Tensor& table, Tensor& out,
                      const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(static_cast<int64_t>(ids.size()) == args.ids.shape.volume(), ShapeMismatch,
            "{}: got {} ids, but args.ids has shape {} ({} ids)", kOp, ids.size(), args.ids.shape.str(),
            args.ids.shape.volume());
  check_run_tensors(args, table, out, config);
  gather(
      args, [ids](int64_t t) { return static_cast<int64_t>(ids[static_cast<std::size_t>(t)]); }, table, out, config,
      ctx);
}

Cost EmbeddingOp::cost(const EmbeddingArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, args.ids, false);
  // Only the looked-up rows of the table are read.
  TensorSpec rows_read = args.table;
  rows_read.shape = Shape{args.ids.shape.volume(), args.table.shape.cols()};
  support::add_traffic(in, rows_read, false);
  const TensorSpec out = output_spec(args, config);
  support::add_traffic(in, out, true);
  in.cores = support::row_op_cores(out, device);
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
