// How a Tensix core rounds: the source registers the matrix engine reads, the
// mantissa bits each math-fidelity phase feeds the 5x7-bit multiplier, the rounding of
// the destination register, and the narrowing of results. docs/numerics.md gives each
// rule with its public source. Shared by every op that emulates the matrix engine
// (matmul, attention matmuls, reductions).
#pragma once

#include <bit>
#include <cstdint>
#include <span>

#include "ttt/device.hpp"

namespace ttt::ops::numerics {

// Source registers hold 19 bits: sign, 8 exponent bits, 10 mantissa bits (TF32). FLOAT32
// operands lose their low 13 mantissa bits by truncation; bfloat16 and the block floats
// (at most 7 mantissa bits after the unpacker normalises them) pass unchanged. The
// matrix engine flushes denormals to zero (the sign is kept).
constexpr float to_src_register(float v) {
  const uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7F800000u) == 0) return std::bit_cast<float>(u & 0x80000000u);
  if ((u & 0x7F800000u) == 0x7F800000u) return v;  // inf and NaN pass
  return std::bit_cast<float>(u & 0xFFFFE000u);
}

// Bit masks over an fp32 word that keep sign, exponent and the mantissa bits a phase
// reads. SrcA (matmul weights, in1) feeds the 5-bit side: hidden 1 + the top 4 mantissa
// bits in phases 0 and 2, the next 5 bits in phases 1 and 3; the last TF32 bit of SrcA
// is never read. SrcB (activations, in0) feeds the 7-bit side: hidden 1 + the top 6
// mantissa bits in phases 0 and 1, the remaining 4 TF32 bits in phases 2 and 3.
inline constexpr uint32_t kSrcAHighMask = 0xFFF80000u;  // sign, exponent, top 4 mantissa bits
inline constexpr uint32_t kSrcAReadMask = 0xFFFFC000u;  // ... and the next 5 (bit 13 unread)
inline constexpr uint32_t kSrcBHighMask = 0xFFFE0000u;  // sign, exponent, top 6 mantissa bits
inline constexpr uint32_t kSrcBReadMask = 0xFFFFE000u;  // all 10 TF32 mantissa bits

constexpr float mask_bits(float v, uint32_t mask) { return std::bit_cast<float>(std::bit_cast<uint32_t>(v) & mask); }

// The part of a source-register value that fidelity phase `phase` (0..3) multiplies.
// Phase bit 0 picks SrcA's low part, phase bit 1 SrcB's low part. A low part is the
// value minus its high part, so it keeps the sign and exponent: hi + lo is exact.
constexpr float srca_phase_part(float a, int phase) {
  const float hi = mask_bits(a, kSrcAHighMask);
  return (phase & 1) ? mask_bits(a, kSrcAReadMask) - hi : hi;
}
constexpr float srcb_phase_part(float b, int phase) {
  const float hi = mask_bits(b, kSrcBHighMask);
  return (phase & 2) ? mask_bits(b, kSrcBReadMask) - hi : hi;
}

// The phases a fidelity runs: LoFi {0}, HiFi2 {0, 1}, HiFi3 {0, 1, 2}, HiFi4 {0..3}.
// Their products summed reduce to at most two products of masked operands, which is
// how kernels evaluate them:
//   LoFi:  A_hi * B_hi
//   HiFi2: A * B_hi                      (A = a with its unread bit dropped)
//   HiFi3: A * B_hi + A_hi * B_lo
//   HiFi4: A * B                         (B = every TF32 bit of b)
struct FidelityOperands {
  uint32_t a1_mask;   // mask of SrcA in the first product
  uint32_t b1_mask;   // mask of SrcB in the first product
  bool second;        // whether a second product A_hi * B_lo follows (HiFi3 only)
};

constexpr FidelityOperands fidelity_operands(MathFidelity f) {
  switch (f) {
    case MathFidelity::LoFi: return {kSrcAHighMask, kSrcBHighMask, false};
    case MathFidelity::HiFi2: return {kSrcAReadMask, kSrcBHighMask, false};
    case MathFidelity::HiFi3: return {kSrcAReadMask, kSrcBHighMask, true};
    case MathFidelity::HiFi4: return {kSrcAReadMask, kSrcBReadMask, false};
  }
  return {kSrcAHighMask, kSrcBHighMask, false};
}

// SrcB's low part, the operand of HiFi3's second product.
constexpr float srcb_low(float b) { return mask_bits(b, kSrcBReadMask) - mask_bits(b, kSrcBHighMask); }

// a * b as the matrix engine forms it at fidelity f: the sum of the phase products, in
// double (every phase product is exact in fp32; the sum of at most four is exact in
// double). Operands are source-register values (see to_src_register). A reference for
// tests and for scalar callers.
double fidelity_product(float a, float b, MathFidelity f);

// Rounding to nearest with ties away from zero, which is how the FPU rounds: to TF32 (10
// mantissa bits, the precision the destination keeps without fp32_dest_acc_en) and to
// bfloat16 (what a 16-bit destination holds when packed). NaN stays NaN; a carry out of
// the mantissa raises the exponent, up to infinity.
constexpr float round_tf32_ties_away(float v) {
  const uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return v;
  return std::bit_cast<float>((u + 0x1000u) & 0xFFFFE000u);
}
constexpr uint16_t float_to_bfloat16_ties_away(float v) {
  const uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
  return static_cast<uint16_t>((u + 0x8000u) >> 16);
}
constexpr float round_bf16_ties_away(float v) {
  return std::bit_cast<float>(static_cast<uint32_t>(float_to_bfloat16_ties_away(v)) << 16);
}

// The destination register after an accumulation: fp32 with fp32_dest_acc_en, else the
// TF32-like 16-bit mode.
constexpr float round_dest(float v, bool fp32_dest_acc) { return fp32_dest_acc ? v : round_tf32_ties_away(v); }

// A result leaving the destination register: without fp32_dest_acc_en it narrows to
// bfloat16 (ties away from zero) before the packer converts it to the output format.
constexpr float narrow_dest(float v, bool fp32_dest_acc) { return fp32_dest_acc ? v : round_bf16_ties_away(v); }

// Whole arrays, in place.
void to_src_register(std::span<float> values);
void mask_bits(std::span<const float> in, std::span<float> out, uint32_t mask);

}  // namespace ttt::ops::numerics
