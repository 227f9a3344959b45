// Layout changes as ops (ttnn.tilize, ttnn.untilize): ROW_MAJOR <-> TILE with the same
// dtype, by the tile layout of include/ttt/formats.hpp (zeros in the padding). Elements
// are moved, never converted, so the dtype must have whole-byte elements: FLOAT32,
// BFLOAT16, INT32 or UINT32. Block floats exist only in TILE layout: reach them with
// typecast, which converts and re-lays out in one step.
//
// The config's dtype must equal the input's and its layout must be the target layout.
#pragma once

#include "ops/op_common.hpp"

namespace ttt::ops {

struct TilizeArgs {
  TensorSpec input;  // ROW_MAJOR
};

struct TilizeOp {
  static void validate(const TilizeArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const TilizeArgs& args, const OpConfig& config);
  static void run(const TilizeArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const TilizeArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct UntilizeArgs {
  TensorSpec input;  // TILE
};

struct UntilizeOp {
  static void validate(const UntilizeArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const UntilizeArgs& args, const OpConfig& config);
  static void run(const UntilizeArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const UntilizeArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// Moves elements of `elem_bytes` bytes from layout `from` to layout `to` (ROW_MAJOR <->
// TILE, or a copy when equal), split over tile rows on `threads` threads of `pool`.
void relayout(const void* src, void* dst, const Shape& shape, std::size_t elem_bytes, Layout from, Layout to,
              ThreadPool& pool, int threads);

}  // namespace ttt::ops
