// Normalisations over the last dim: RMSNorm and LayerNorm (ttnn.rms_norm, ttnn.layer_norm).
//
//   rms_norm:   y = x / sqrt(mean(x^2) + eps) * gamma
//   layer_norm: y = (x - mean(x)) / sqrt(var(x) + eps) * gamma + beta   (biased variance)
//
// gamma and beta hold one value per element of the last dim, in any float dtype and any
// shape with that many values ([hidden], [1, 1, hidden], or TTNN's ROW_MAJOR
// [1, 1, hidden / 32, 32] sticks); either may be absent.
//
// On cpu the statistics are accumulated in double (rms_norm: fp32 SIMD lanes summed in
// double) and the output computed in fp32. On ttnn devices the op computes what the
// device's layernorm kernel computes, step by step, with the rounding of each step
// (docs/numerics/elementwise.md). The program config is none (interleaved input) or a
// NormConfig (ttnn LayerNormShardedMultiCoreProgramConfig) for a sharded input.
#pragma once

#include <optional>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct RmsNormArgs {
  TensorSpec input;                 // [..., hidden]
  std::optional<TensorSpec> gamma;  // hidden values
  float eps = 1e-5f;
};

struct RmsNormOp {
  static void validate(const RmsNormArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const RmsNormArgs& args, const OpConfig& config);
  // gamma is null exactly when args.gamma is empty.
  static void run(const RmsNormArgs& args, const Tensor& input, const Tensor* gamma, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const RmsNormArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct LayerNormArgs {
  TensorSpec input;                 // [..., hidden]
  std::optional<TensorSpec> gamma;  // hidden values
  std::optional<TensorSpec> beta;   // hidden values
  float eps = 1e-5f;
};

struct LayerNormOp {
  static void validate(const LayerNormArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const LayerNormArgs& args, const OpConfig& config);
  // gamma / beta are null exactly when args.gamma / args.beta are empty.
  static void run(const LayerNormArgs& args, const Tensor& input, const Tensor* gamma, const Tensor* beta, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const LayerNormArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
