#include "ops/eltwise/op_support.hpp"

#include <algorithm>
#include <string>

#include "ttt/formats.hpp"

namespace ttt::ops::support {

void check_kernel_config(std::string_view op, const OpConfig& config, const DeviceSpec& device, bool norm_config_ok) {
  const auto& k = config.kernel_config;
  const char* found = VariantNames<ProgramConfig>::names[k.index()];
  if (std::holds_alternative<std::monostate>(k)) return;
  if (!device.is_ttnn()) {
    TTT_CHECK(std::holds_alternative<CpuKernelConfig>(k), InvalidConfig,
              "{}: program config '{}' is for ttnn devices, not {} (kernel_config); use none or cpu", op, found,
              device.name);
    return;
  }
  if (norm_config_ok && std::holds_alternative<NormConfig>(k)) return;
  fail(ErrorKind::InvalidConfig, "{}: program config '{}' does not apply to this op on {} (kernel_config); use {}", op,
       found, device.name, norm_config_ok ? "none or norm" : "none");
}

void check_placement(std::string_view op, std::string_view what, const Shape& shape, DataType dtype, Layout layout,
                     const MemoryConfig& memory, const DeviceSpec& device) {
  TTT_CHECK(!is_block_float(dtype) || layout == Layout::TILE, InvalidConfig,
            "{}: {} dtype {} exists only in TILE layout (layout = {}); use layout TILE or dtype BFLOAT16", op, what,
            to_string(dtype), to_string(layout));
  if (device.is_ttnn()) {
    const std::string where = std::string(op) + ": " + std::string(what);
    check_sharding(shape, dtype, layout, memory, device.grid, where);
  }
}

void check_float(std::string_view op, std::string_view what, DataType dtype) {
  check_dtype_in(op, what, dtype, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
}

void check_output(std::string_view op, const Tensor& out, const Shape& shape, const OpConfig& config) {
  TTT_CHECK(out.defined(), InvalidConfig, "{}: the output tensor has no storage", op);
  check_same_shape(op, "output", out.shape(), shape);
  TTT_CHECK(out.dtype() == config.dtype && out.layout() == config.layout, ShapeMismatch,
            "{}: output '{}' is {} {}, but the config asks for {} {} (dtype, layout)", op, out.name(),
            to_string(out.dtype()), to_string(out.layout()), to_string(config.dtype), to_string(config.layout));
}

TensorSpec output_from_config(std::string_view op, const Shape& shape, const OpConfig& config) {
  return TensorSpec{config.op_name.empty() ? std::string(op) : config.op_name, shape, config.dtype, config.layout,
                    config.memory_config};
}

void add_traffic(CostInputs& in, const TensorSpec& spec, bool write) {
  const double bytes = stored_bytes(spec);
  if (spec.memory_config.buffer_type == BufferType::L1) {
    in.l1_bytes += bytes;
  } else if (write) {
    in.dram_write_bytes += bytes;
  } else {
    in.dram_read_bytes += bytes;
  }
}

int row_op_cores(const TensorSpec& input, const DeviceSpec& device) {
  if (!device.is_ttnn()) return 0;
  if (input.memory_config.shard_spec && input.memory_config.is_sharded()) {
    return input.memory_config.shard_spec->grid.count();
  }
  const TileGeometry g = tile_geometry(input.shape);
  const int64_t tile_rows = g.batch * g.tile_rows();
  return static_cast<int>(std::clamp<int64_t>(tile_rows, 1, device.cores_per_chip()));
}

int tile_op_cores(const TensorSpec& input, const DeviceSpec& device) {
  if (!device.is_ttnn()) return 0;
  if (input.memory_config.shard_spec && input.memory_config.is_sharded()) {
    return input.memory_config.shard_spec->grid.count();
  }
  const TileGeometry g = tile_geometry(input.shape);
  const int64_t tiles = g.batch * g.tile_rows() * g.tile_cols();
  return static_cast<int>(std::clamp<int64_t>(tiles, 1, device.cores_per_chip()));
}

int host_threads(const OpConfig& config, const ExecContext& ctx) {
  int t = ctx.threads;
  if (const auto* c = std::get_if<CpuKernelConfig>(&config.kernel_config); c && c->threads > 0) {
    t = t > 0 ? std::min(t, c->threads) : c->threads;
  }
  return t;
}

}  // namespace ttt::ops::support
