// Softmax over the last dim, numerically stable: y = exp(s - max(s)) / sum(exp(s - max(s)))
// with s = x * scale (scale optional). Masks (causal or not) belong to attention, which has
// its own kernels; this op has none.
//
// On cpu: fp32 exp, sums in double. On ttnn devices: ttnn's softmax kernel with
// numeric_stable = true (kernels/attention/compute/softmax.cpp): max, subtract and exp held
// in dest, the sum by the FPU reduce, its reciprocal on the SFPU, the product on the FPU
// (docs/numerics/elementwise.md). The program config is none (interleaved) or a NormConfig
// standing for ttnn's SoftmaxShardedMultiCoreProgramConfig (height-sharded input).
#pragma once

#include <optional>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct SoftmaxArgs {
  TensorSpec input;            // [..., width]
  std::optional<float> scale;  // multiplies the input first (attention's 1/sqrt(head_dim))
};

struct SoftmaxOp {
  static void validate(const SoftmaxArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const SoftmaxArgs& args, const OpConfig& config);
  static void run(const SoftmaxArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const SoftmaxArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
