// Element-wise ops: add, mul (ttnn.add, ttnn.mul), the activations silu and relu
// (ttnn.silu, ttnn.relu), and an activation applied to the first operand of a binary op
// (ttnn.mul(a, b, input_tensor_a_activations=[SILU]): silu(a) * b, the SwiGLU gate).
//
// Broadcasting: b has a's shape, or a's trailing dims with any number of leading 1s
// ([hidden] or [1, 1, hidden] against [batch, seq, hidden]; [1] for a scalar). Output
// has a's shape.
//
// On cpu the math is fp32 (SIMD, row_kernels). On ttnn devices operands are their stored
// values; activations run in fp32 on the SFPU and are held in dest; two FLOAT32 operands
// are combined on the SFPU in fp32, any other pair on the FPU (operands as the source
// registers hold them, products at the config's math fidelity); the result is held in
// dest (bf16 unless fp32_dest_acc_en) before the output rounds to its dtype.
#pragma once

#include "ops/op_common.hpp"

namespace ttt::ops {

TTT_ENUM(BinaryOpType, ADD, MUL)

struct BinaryArgs {
  TensorSpec a;
  TensorSpec b;  // a's shape, or a's trailing dims (leading 1s allowed)
  BinaryOpType op = BinaryOpType::ADD;
  UnaryActivation a_activation = UnaryActivation::NONE;  // NONE, SILU or RELU, applied to a first
};

struct BinaryOp {
  static void validate(const BinaryArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const BinaryArgs& args, const OpConfig& config);
  static void run(const BinaryArgs& args, const Tensor& a, const Tensor& b, Tensor& out, const OpConfig& config,
                  ExecContext& ctx);
  static Cost cost(const BinaryArgs& args, const OpConfig& config, const DeviceSpec& device);
};

struct UnaryArgs {
  TensorSpec input;
  UnaryActivation op = UnaryActivation::SILU;  // SILU or RELU
};

struct UnaryOp {
  static void validate(const UnaryArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const UnaryArgs& args, const OpConfig& config);
  static void run(const UnaryArgs& args, const Tensor& input, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const UnaryArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// How many leading elements of a's row-major order b covers before it repeats (b's
// volume), or ShapeMismatch when b does not broadcast to a. `op` names the op in messages.
int64_t broadcast_period(std::string_view op, const Shape& a, const Shape& b);

}  // namespace ttt::ops
