// What the attention-path ops (rotary, qkv_heads, kv_cache, sdpa, sdpa_decode) share:
// the device numerics model (bf16 packing of intermediates, math fidelity, 16-bit Dest),
// output-config checks, and how chunk sizes and thread counts are resolved from an OpConfig.
// docs/numerics/attention.md gives the model and its sources.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string_view>

#include "ops/numerics/ttnn_numerics.hpp"
#include "ops/op_common.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops::attn {

// How a ttnn:* device computes; on `cpu` emulate is false and everything is plain fp32.
struct DeviceNumerics {
  bool emulate = false;        // round intermediates as the device packs them
  bool fp32_dest = true;       // fp32_dest_acc_en: Dest accumulates in fp32 (else bf16 per tile step)
  MathFidelity fidelity = MathFidelity::HiFi4;
};

DeviceNumerics device_numerics(const DeviceSpec& device, const OpConfig& config);

inline float round_bf16(float x) { return bfloat16_to_float(float_to_bfloat16(x)); }
void round_bf16(std::span<float> x);

// A value in the destination register after an accumulation step (TF32-like without
// fp32_dest_acc_en), and a Dest value packed into a bf16 circular buffer: narrowed with
// ties away from zero from the 16-bit Dest, rounded to nearest even from an fp32 Dest.
// The rules are ops/numerics' (shared with matmul); docs/numerics/attention.md.
inline float dest_round(float v, bool fp32_dest) { return numerics::round_dest(v, fp32_dest); }
inline float pack_bf16(float v, bool fp32_dest) {
  return fp32_dest ? round_bf16(v) : numerics::round_bf16_ties_away(v);
}
void pack_bf16(std::span<float> x, bool fp32_dest);

// The operand planes a fidelity needs (ops/numerics: source registers keep TF32; each
// phase reads the high or low bits of SrcA, in1 = K or V, and SrcB, in0 = Q or P):
// A planes 0 = every bit SrcA reads, 1 = its high part; B planes 0 = every TF32 bit,
// 1 = high part, 2 = low part. A fidelity is at most two products of planes:
//   LoFi  A1 * B1      HiFi2  A0 * B1      HiFi3  A0 * B1 + A1 * B2      HiFi4  A0 * B0
struct FidelityPasses {
  int count = 1;
  int a_plane[2] = {0, 0};
  int b_plane[2] = {0, 0};
};
FidelityPasses fidelity_passes(MathFidelity f);

// Writes the SrcA planes of `a` (n values).
void split_srca(const float* a, int64_t n, float* a_read, float* a_hi);
// Writes the SrcB planes of `b`.
void split_srcb(const float* b, int64_t n, float* b_read, float* b_hi, float* b_lo);

// Output checks every op of this family makes: a float dtype, block floats only in TILE,
// a sharded memory config that fits the shape and the grid. `what` names the field.
void check_output_config(std::string_view op, const OpConfig& config, const DeviceSpec& device, const Shape& shape);

// Host threads an op may use: ctx.threads, capped by a CpuKernelConfig's threads when given.
int op_threads(const OpConfig& config, const ExecContext& ctx);

// run()-time check of an output tensor against the shape and the config's format, without
// building a TensorSpec (whose name string could allocate on every call).
void check_output_tensor(std::string_view op, const Tensor& out, const Shape& shape, const OpConfig& config);

// A tensor spec of `shape` in the config's dtype, layout and memory config.
TensorSpec make_output_spec(std::string name, const Shape& shape, const OpConfig& config);

// Cost bookkeeping: bytes an operand moves count as DRAM or L1 traffic by its buffer type.
void add_read(CostInputs& in, const MemoryConfig& where, double bytes);
void add_write(CostInputs& in, const MemoryConfig& where, double bytes);

// Bytes one logical row of `cols` values occupies in this format (block floats: 17/16 per
// value for bfp8, 9/16 for bfp4, counting the shared exponents).
double row_bytes(DataType dtype, int64_t cols);

// Bytes one row of `spec` occupies as stored: in TILE layout its last dim is padded to a
// multiple of 32, so a head of 8 values moves a whole 32-wide tile row.
double stored_row_bytes(const TensorSpec& spec);

// The head dim the device computes over: padded to whole tiles on ttnn devices (the padded
// columns are zeros), the logical one on cpu.
int64_t compute_head_dim(int64_t head_dim, const DeviceSpec& device);

}  // namespace ttt::ops::attn
