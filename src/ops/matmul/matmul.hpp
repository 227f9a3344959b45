// Matmul / linear (ttnn.matmul, ttnn.linear):  y = act(x @ W + bias)
//
//   x      [..., M, K]  activations; every leading dim counts as rows of M. Any float
//                       dtype and layout the device holds (cpu: FLOAT32 or BFLOAT16,
//                       ROW_MAJOR or TILE; ttnn devices: TILE).
//   W      [K, N]       weights, already in TTNN's [in, out] order (the transpose of a
//                       Hugging Face [out, in] weight). Leading dims of size 1 are allowed.
//                       FLOAT32 / BFLOAT16 in ROW_MAJOR or TILE, BFLOAT8_B / BFLOAT4_B in TILE.
//          [S, K, N/S]  cpu, TILE: the columns in S shards, each stored whole
//                       (W[k][s * N/S + j] is element [s][k][j]; N/S a multiple of 32).
//                       The host GEMV gives each thread its shard, so that a thread reads
//                       one contiguous stretch of memory (the host's counterpart of TTNN's
//                       DRAM width-sharded weights).
//   bias   [N]          optional, any float dtype ([1, ..., 1, N] works too).
//   act                 optional fused activation: MatmulArgs::activation, or the program
//                       config's fused_activation (they must agree when both are set).
//   y      [..., M, N]  in the OpConfig's dtype, layout and memory config.
//
// Program config. cpu: none or CpuKernelConfig. threads caps the threads; block_m is the
// row count up to which the GEMV runs (default 16, or 8 when the GEMM would multiply in
// bfloat16); block_n / block_k size the GEMM's weight panel block (multiples of 32,
// default 256), and giving either runs the own GEMM kernels where oneDNN would run.
// ttnn devices: none, MatmulReuseConfig, Matmul2DConfig, Matmul1DConfig or
// MatmulDramShardedConfig, checked against the shapes as ttnn checks them.
//
// cpu: products and sums in fp32. The weights are read in their stored format, block
// floats decoded on the fly; no dequantized copy of the weights is made. Few rows (decode)
// run a GEMV that streams the weights once; many rows (prefill) run a blocked GEMM that
// decodes one cache-sized panel of weights at a time (oneDNN for FLOAT32 and BFLOAT16
// row-major weights when built with it; oneDNN makes a few small allocations per call,
// the own kernels none). When x is BFLOAT16 (or a block float) and W is
// not FLOAT32 every operand is exact in bfloat16, so the GEMM multiplies in bfloat16 with
// fp32 accumulation (AVX512-BF16); otherwise it multiplies in fp32. Every ISA level gives
// the same values up to fp32 rounding of the sums.
//
// ttnn devices: what the matrix engine computes (docs/numerics.md): operands in their
// stored format truncated to the source registers, the products of the fidelity phases of
// compute_kernel_config.math_fidelity, the destination rounded after each 32-deep K tile
// unless fp32_dest_acc_en, the result narrowed to bfloat16 (ties away from zero) in the
// 16-bit mode, then converted to the output dtype.
#pragma once

#include <optional>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct MatmulArgs {
  TensorSpec x;                      // [..., M, K]
  TensorSpec weight;                 // [K, N] or column shards [S, K, N / S]
  std::optional<TensorSpec> bias;    // [N]
  UnaryActivation activation = UnaryActivation::NONE;
};

struct MatmulOp {
  static void validate(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const MatmulArgs& args, const OpConfig& config);
  // bias is null exactly when args.bias is empty. ctx.threads (and CpuKernelConfig::threads)
  // cap the threads used.
  static void run(const MatmulArgs& args, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device);
};

// The activation that runs fused: args.activation, else the program config's.
UnaryActivation matmul_activation(const MatmulArgs& args, const OpConfig& config);

// Rows (M, all leading dims folded), K and N of a matmul.
struct MatmulDims {
  int64_t batch = 1;  // product of x's leading dims (rank > 2)
  int64_t m = 1;      // rows per batch slice (x.shape[-2], 1 for a rank-1 x)
  int64_t rows = 1;   // batch * m
  int64_t k = 1;
  int64_t n = 1;
};
MatmulDims matmul_dims(const MatmulArgs& args);
// N of a weight shape: [..., K, N] or column shards [S, K, N / S].
int64_t matmul_weight_n(const Shape& weight);

}  // namespace ttt::ops
