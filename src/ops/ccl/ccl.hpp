// Collectives across the chips of a multi-chip device (ttnn:n300: 2 chips, ttnn:t3k: 8),
// as ttnn.all_gather, ttnn.reduce_scatter and ttnn.all_reduce. The tensor on each chip is
// its own Tensor: a collective takes one input per chip, in chip order, and fills one
// output per chip.
//
//   all_gather(dim):     every chip gets the inputs concatenated along dim, in chip order.
//   reduce_scatter(dim): the inputs are summed and chip i keeps slice i of `chips` equal
//                        slices along dim.
//   all_reduce:          every chip gets the whole sum.
//
// Numerics. ttnn devices sum in the tensors' dtype around a ring: the slice chip c ends
// with starts on chip c+1 and passes through c+2, ..., c, each chip adding its own slice
// and the partial sum being rounded to the dtype at every step (bfloat16 partials lose
// bits per step; a single bf16 result is not the correctly rounded sum). all_reduce, as
// tt-metal composes it: reduce_scatter along the last dim that splits into `chips` equal
// slices (whole tiles for the last two dims in TILE layout), then all_gather; when no dim
// splits, an all_gather followed by a sum in chip order 0, 1, ..., rounded per step. Host
// devices (cpu meshes) sum in fp32 in chip order and round once.
//
// Cost: a ring of chips - 1 steps, each moving one slice (the tensor's bytes / chips) per
// chip; all_reduce runs two rings.
//
// Single-chip devices have no collectives (Unsupported). The output keeps the input's
// dtype and layout; the config's dtype and layout must say the same.
#pragma once

#include <span>
#include <vector>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct AllGatherArgs {
  std::vector<TensorSpec> inputs;  // one per chip, all the same shape, dtype and layout
  int dim = -1;
};

struct AllGatherOp {
  static void validate(const AllGatherArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const AllGatherArgs& args, const OpConfig& config);  // each chip's output
  static void run(const AllGatherArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const AllGatherArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct ReduceScatterArgs {
  std::vector<TensorSpec> inputs;  // one per chip; inputs[0].shape[dim] divisible by the chips
  int dim = -1;
};

struct ReduceScatterOp {
  static void validate(const ReduceScatterArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const ReduceScatterArgs& args, const OpConfig& config);
  static void run(const ReduceScatterArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const ReduceScatterArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct AllReduceArgs {
  std::vector<TensorSpec> inputs;  // one per chip
};

struct AllReduceOp {
  static void validate(const AllReduceArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const AllReduceArgs& args, const OpConfig& config);
  static void run(const AllReduceArgs& args, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const AllReduceArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// Rounds fp32 values (row-major, `shape`) to what a tensor of `dtype` would hold, in place
// and without allocating: bf16 to nearest even, block floats face row by face row as the
// packer does. FLOAT32 is left as is. Float dtypes only.
void round_to_dtype(std::span<float> values, const Shape& shape, DataType dtype);

}  // namespace ttt::ops
