// Typecast (ttnn.typecast): a tensor in another dtype and, if the config says so, another
// layout. Any pair of FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B, INT32, UINT32 works, with
// the output layout legal for its dtype (block floats: TILE only).
//
// Rounding follows the device's typecast kernels (tt-llk ckernel_sfpu_typecast.h), which
// are also ttt's host conversions: float -> bfloat16 / block float rounds to nearest even;
// float -> INT32 / UINT32 truncates toward zero and saturates (negative -> 0 for UINT32,
// NaN -> 0); INT32 / UINT32 -> float rounds to nearest even (to fp32 first, then to the
// target). INT32 <-> UINT32 converts exactly, saturating at the target's range.
#pragma once

#include "ops/op_common.hpp"

namespace ttt::ops {

struct TypecastArgs {
  TensorSpec input;  // output dtype and layout come from OpConfig::dtype / OpConfig::layout
};

struct TypecastOp {
  static void validate(const TypecastArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const TypecastArgs& args, const OpConfig& config);
  static void run(const TypecastArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const TypecastArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
