#include "ops/sdpa/attention_common.hpp"

#include <algorithm>
#include <variant>

namespace ttt::ops::attn {

DeviceNumerics device_numerics(const DeviceSpec& device, const OpConfig& config) {
  DeviceNumerics nm;
  if (!device.is_ttnn()) return nm;
  nm.emulate = true;
  nm.fp32_dest = config.compute_kernel_config.fp32_dest_acc_en;
  nm.fidelity = config.compute_kernel_config.math_fidelity;
  return nm;
}

void round_bf16(std::span<float> x) {
  for (float& v : x) v = round_bf16(v);
}

void pack_bf16(std::span<float> x, bool fp32_dest) {
  for (float& v : x) v = pack_bf16(v, fp32_dest);
}

FidelityPasses fidelity_passes(MathFidelity f) {
  FidelityPasses p;
  switch (f) {
    case MathFidelity::LoFi: p.a_plane[0] = 1, p.b_plane[0] = 1; break;
    case MathFidelity::HiFi2: p.a_plane[0] = 0, p.b_plane[0] = 1; break;
    case MathFidelity::HiFi3:
      p.count = 2;
      p.a_plane[0] = 0, p.b_plane[0] = 1;
      p.a_plane[1] = 1, p.b_plane[1] = 2;
      break;
    case MathFidelity::HiFi4: p.a_plane[0] = 0, p.b_plane[0] = 0; break;
  }
  return p;
}

void split_srca(const float* a, int64_t n, float* a_read, float* a_hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float src = numerics::to_src_register(a[i]);
    a_read[i] = numerics::mask_bits(src, numerics::kSrcAReadMask);
    a_hi[i] = numerics::mask_bits(src, numerics::kSrcAHighMask);
  }
}

void split_srcb(const float* b, int64_t n, float* b_read, float* b_hi, float* b_lo) {
  for (int64_t i = 0; i < n; ++i) {
    const float src = numerics::to_src_register(b[i]);
    const float read = numerics::mask_bits(src, numerics::kSrcBReadMask);
    const float hi = numerics::mask_bits(src, numerics::kSrcBHighMask);
    b_read[i] = read;
    b_hi[i] = hi;
    b_lo[i] = read - hi;  // exact: the low bits of the same significand
  }
}

void check_output_config(std::string_view op, const OpConfig& config, const DeviceSpec& device, const Shape& shape) {
  TTT_CHECK(is_float(config.dtype), InvalidConfig,
            "{}: output dtype {} is not a float format (dtype); use FLOAT32, BFLOAT16, BFLOAT8_B or BFLOAT4_B", op,
            to_string(config.dtype));
  TTT_CHECK(!is_block_float(config.dtype) || config.layout == Layout::TILE, InvalidConfig,
            "{}: output dtype {} exists only in TILE layout, found {} (layout); use layout TILE or dtype BFLOAT16", op,
            to_string(config.dtype), to_string(config.layout));
  if (config.memory_config.is_sharded()) {
    check_sharding(shape, config.dtype, config.layout, config.memory_config, device.grid,
                   std::string(op) + " output (memory_config)");
  }
}

int op_threads(const OpConfig& config, const ExecContext& ctx) {
  int threads = ctx.threads;
  if (const auto* cpu = std::get_if<CpuKernelConfig>(&config.kernel_config); cpu && cpu->threads > 0) {
    threads = threads > 0 ? std::min(threads, cpu->threads) : cpu->threads;
  }
  return threads;
}

void check_output_tensor(std::string_view op, const Tensor& out, const Shape& shape, const OpConfig& config) {
  TTT_CHECK(out.defined(), InvalidConfig, "{}: output tensor '{}' has no storage", op, out.name());
  check_same_shape(op, out.name(), out.shape(), shape);
  TTT_CHECK(out.dtype() == config.dtype && out.layout() == config.layout, ShapeMismatch,
            "{}: output '{}' is {} {}, but the op config names {} {}", op, out.name(), to_string(out.dtype()),
            to_string(out.layout()), to_string(config.dtype), to_string(config.layout));
}

TensorSpec make_output_spec(std::string name, const Shape& shape, const OpConfig& config) {
  return TensorSpec{std::move(name), shape, config.dtype, config.layout, config.memory_config};
}

void add_read(CostInputs& in, const MemoryConfig& where, double bytes) {
  (where.buffer_type == BufferType::DRAM ? in.dram_read_bytes : in.l1_bytes) += bytes;
}

void add_write(CostInputs& in, const MemoryConfig& where, double bytes) {
  (where.buffer_type == BufferType::DRAM ? in.dram_write_bytes : in.l1_bytes) += bytes;
}

double row_bytes(DataType dtype, int64_t cols) {
  if (is_block_float(dtype)) return static_cast<double>(cols) * bits_per_element(dtype) / 8.0;
  return static_cast<double>(cols * element_bytes(dtype));
}

double stored_row_bytes(const TensorSpec& spec) {
  const int64_t cols = spec.shape.rank() >= 1 ? spec.shape[-1] : 1;
  return row_bytes(spec.dtype, spec.layout == Layout::TILE ? round_up(cols, kTileSize) : cols);
}

int64_t compute_head_dim(int64_t head_dim, const DeviceSpec& device) {
  return device.is_ttnn() ? round_up(head_dim, kTileSize) : head_dim;
}

}  // namespace ttt::ops::attn
