// Checks and cost pieces shared by the element-wise, normalisation, softmax, embedding,
// typecast, layout and collective ops.
#pragma once

#include <initializer_list>
#include <string_view>

#include "ops/op_common.hpp"

namespace ttt::ops::support {

// The program config must be none or CpuKernelConfig on cpu, none (or NormConfig when
// `norm_config_ok`) on ttnn devices.
void check_kernel_config(std::string_view op, const OpConfig& config, const DeviceSpec& device, bool norm_config_ok);

// A tensor's dtype/layout/memory config is one the device can hold: block floats only in
// TILE layout; on ttnn devices the sharding rules (check_sharding) against the grid.
void check_placement(std::string_view op, std::string_view what, const Shape& shape, DataType dtype, Layout layout,
                     const MemoryConfig& memory, const DeviceSpec& device);
inline void check_placement(std::string_view op, std::string_view what, const TensorSpec& spec,
                            const DeviceSpec& device) {
  check_placement(op, what, spec.shape, spec.dtype, spec.layout, spec.memory_config, device);
}

// Requires a float dtype (any of the four); `what` names the field.
void check_float(std::string_view op, std::string_view what, DataType dtype);

// run()'s check of its output tensor against the shape it was validated for and the
// config's dtype and layout (allocates nothing, unlike building the output spec).
void check_output(std::string_view op, const Tensor& out, const Shape& shape, const OpConfig& config);

// The output spec every single-output op builds from its config.
TensorSpec output_from_config(std::string_view op, const Shape& shape, const OpConfig& config);

// Adds a tensor's stored bytes to the DRAM or L1 traffic of `in`, per its buffer type.
void add_traffic(CostInputs& in, const TensorSpec& spec, bool write);

// Cores an interleaved row-wise op occupies on ttnn: its tile rows spread over the grid
// (at least one); on cpu 0 (the whole device).
int row_op_cores(const TensorSpec& input, const DeviceSpec& device);
// Cores an element-wise op occupies on ttnn: its tiles spread over the grid (ttnn's
// eltwise program factories split the tile count over the cores, split_work_to_cores),
// so one tile row of 448 tiles runs on the whole grid; a sharded input keeps its shard
// grid. On cpu 0 (the whole device).
int tile_op_cores(const TensorSpec& input, const DeviceSpec& device);

// Threads a host kernel may use: the CpuKernelConfig's count when it sets one, capped by
// the context's (0 = no cap).
int host_threads(const OpConfig& config, const ExecContext& ctx);

}  // namespace ttt::ops::support
