// How a Tensix core rounds, for the emulated ttnn:* devices. docs/numerics/elementwise.md
// states each rule with its public source; in short:
// - The FPU reads its operands from the source registers, which hold 1 hidden + 10
//   explicit mantissa bits: fp32 operands lose their 13 low bits there, denormals flush
//   to zero (src_value).
// - An FPU multiply adds 1 to 4 partial products of mantissa slices, one per fidelity
//   phase (fpu_mul); adds and subtracts have no phases.
// - Results land in the dest register: fp32 with fp32_dest_acc_en, else Float16_b
//   (bfloat16), and intermediate circular buffers use that same format (dest_value).
// - SFPU functions (exp, rsqrt, reciprocal, silu) compute in fp32 on values loaded from
//   dest and store back into dest.
// - Scalars the host hands to a kernel as Float16_b tiles (reduce scalers, epsilon,
//   softmax scale) are the upper 16 bits of their fp32 pattern (host_bf16_scalar).
#pragma once

#include <bit>
#include <cstdint>

#include "ttt/device.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops::tensix {

// Keep the sign, the exponent and the top `bits` explicit mantissa bits.
constexpr float keep_mantissa_bits(float v, int bits) {
  const uint32_t mask = ~((uint32_t{1} << (23 - bits)) - 1u);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(v) & mask);
}

// A value as the unpacker places it in srcA/srcB (bf16 and block-float values are exact);
// denormals become zero of the same sign.
constexpr float src_value(float v) {
  const uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7F800000u) == 0) return std::bit_cast<float>(u & 0x80000000u);
  return keep_mantissa_bits(v, 10);
}

// A value as the dest register (and an intermediate circular buffer) holds it.
inline float dest_value(float v, bool fp32_dest) { return fp32_dest ? v : bfloat16_to_float(float_to_bfloat16(v)); }

// A host fp32 scalar packed into a Float16_b tile by truncation.
constexpr float host_bf16_scalar(float v) { return keep_mantissa_bits(v, 7); }

// a (srcA) times b (srcB) on the matrix engine at the given fidelity. srcA is sliced into
// its top 5 and next 5 mantissa bits (hidden bit included), srcB into its top 7 and low 4;
// LoFi multiplies the two top slices, HiFi2 adds A-next x B-top, HiFi3 adds A-top x B-low,
// HiFi4 adds A-next x B-low. Summed, the phases are at most two products of truncated
// operands, each exact in double (at most 10 x 11 significant bits).
inline float fpu_mul(float a, float b, MathFidelity fidelity) {
  a = src_value(a);
  b = src_value(b);
  const uint32_t ea = std::bit_cast<uint32_t>(a) & 0x7F800000u;
  const uint32_t eb = std::bit_cast<uint32_t>(b) & 0x7F800000u;
  if (ea == 0x7F800000u || eb == 0x7F800000u) return a * b;  // inf / NaN: nothing to slice
  const double a_read = keep_mantissa_bits(a, 9);            // both srcA slices: its 10th bit is never read
  const double a_top = keep_mantissa_bits(a, 4);
  const double b_top = keep_mantissa_bits(b, 6);
  switch (fidelity) {
    case MathFidelity::LoFi: return static_cast<float>(a_top * b_top);
    case MathFidelity::HiFi2: return static_cast<float>(a_read * b_top);
    case MathFidelity::HiFi3: return static_cast<float>(a_read * b_top + a_top * (static_cast<double>(b) - b_top));
    case MathFidelity::HiFi4: break;
  }
  return static_cast<float>(a_read * static_cast<double>(b));
}

// FPU add / subtract: operands through the source registers, result in fp32 before dest.
inline float fpu_add(float a, float b) { return src_value(a) + src_value(b); }
inline float fpu_sub(float a, float b) { return src_value(a) - src_value(b); }

}  // namespace ttt::ops::tensix
