// The Tensix numerics helpers: source-register truncation, the fidelity phase masks,
// the destination and packer roundings (ties away from zero).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "ops/numerics/ttnn_numerics.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops::numerics {
namespace {

float bits(uint32_t u) { return std::bit_cast<float>(u); }
uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

TEST(NumericsSourceRegister, Fp32LosesItsLow13MantissaBitsByTruncation) {
  EXPECT_EQ(bits(to_src_register(bits(0x3F801FFFu))), 0x3F800000u);  // would round up, truncates
  EXPECT_EQ(bits(to_src_register(bits(0xBF80E001u))), 0xBF80E000u);
  EXPECT_EQ(to_src_register(1.0f + 0x1p-10f), 1.0f + 0x1p-10f);      // the 10th bit stays
  // bfloat16 values pass unchanged.
  for (uint32_t h : {0x3F80u, 0xC2F7u, 0x0080u, 0x7F7Fu}) EXPECT_EQ(bits(to_src_register(bits(h << 16))), h << 16);
  // Denormals flush to zero, keeping the sign; inf and NaN pass.
  EXPECT_EQ(bits(to_src_register(bits(0x00000123u))), 0u);
  EXPECT_EQ(bits(to_src_register(bits(0x80400000u))), 0x80000000u);
  EXPECT_TRUE(std::isinf(to_src_register(std::numeric_limits<float>::infinity())));
  EXPECT_TRUE(std::isnan(to_src_register(std::numeric_limits<float>::quiet_NaN())));
}

TEST(NumericsFidelity, PhasePartsSplitTheMantissa) {
  // 1.mmmm mmmmm m: SrcA reads 1 + 4 bits (phase 0), the next 5 (phase 1), never the 10th.
  const float a = bits(0x3FFFE000u);  // all ten TF32 mantissa bits set
  EXPECT_EQ(srca_phase_part(a, 0), bits(0x3FF80000u));
  EXPECT_EQ(srca_phase_part(a, 1), bits(0x3FFFC000u) - bits(0x3FF80000u));
  EXPECT_EQ(srca_phase_part(a, 0) + srca_phase_part(a, 1), bits(0x3FFFC000u));  // bit 13 unread
  // SrcB reads 1 + 6 bits (phases 0, 1) and the remaining 4 (phases 2, 3).
  EXPECT_EQ(srcb_phase_part(a, 0), bits(0x3FFE0000u));
  EXPECT_EQ(srcb_phase_part(a, 2), a - bits(0x3FFE0000u));
  EXPECT_EQ(srcb_phase_part(a, 1), srcb_phase_part(a, 0));
  EXPECT_EQ(srca_phase_part(a, 2), srca_phase_part(a, 0));
  // Negative values keep their sign in both parts.
  EXPECT_EQ(srca_phase_part(-a, 1), -srca_phase_part(a, 1));
  EXPECT_EQ(srcb_low(-a), -srcb_low(a));
}

TEST(NumericsFidelity, HandComputedProducts) {
  const float a = 1.0f + 0x1p-5f;  // SrcA: 2^-5 is in the second part
  const float b = 1.0f + 0x1p-7f;  // SrcB: 2^-7 is in the low part
  EXPECT_EQ(fidelity_product(a, b, MathFidelity::LoFi), 1.0);
  EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi2), 1.0 + 0x1p-5);
  EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi3), 1.0 + 0x1p-5 + 0x1p-7);
  EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi4), (1.0 + 0x1p-5) * (1.0 + 0x1p-7));
}

// The two-product form the kernels use equals the sum of the phases.
TEST(NumericsFidelity, OperandFormEqualsPhaseSum) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-4.f, 4.f);
  for (int f = 0; f < 4; ++f) {
    const auto fid = static_cast<MathFidelity>(f);
    const FidelityOperands ops = fidelity_operands(fid);
    for (int i = 0; i < 2000; ++i) {
      const float a = to_src_register(dist(rng)), b = to_src_register(dist(rng));
      double v = static_cast<double>(mask_bits(a, ops.a1_mask)) * mask_bits(b, ops.b1_mask);
      if (ops.second) v += static_cast<double>(mask_bits(a, kSrcAHighMask)) * srcb_low(b);
      ASSERT_EQ(v, fidelity_product(a, b, fid)) << to_string(fid) << " a " << a << " b " << b;
    }
  }
}

TEST(NumericsRounding, Tf32TiesAwayFromZero) {
  EXPECT_EQ(bits(round_tf32_ties_away(bits(0x3F801000u))), 0x3F802000u);  // tie, even below: up anyway
  EXPECT_EQ(bits(round_tf32_ties_away(bits(0x3F803000u))), 0x3F804000u);  // tie: away
  EXPECT_EQ(bits(round_tf32_ties_away(bits(0xBF801000u))), 0xBF802000u);  // negative tie: away from zero
  EXPECT_EQ(bits(round_tf32_ties_away(bits(0x3F800FFFu))), 0x3F800000u);  // below half: down
  EXPECT_EQ(bits(round_tf32_ties_away(bits(0x3FFFF000u))), 0x40000000u);  // carry into the exponent
  EXPECT_TRUE(std::isinf(round_tf32_ties_away(bits(0x7F7FF000u))));       // overflow
  EXPECT_TRUE(std::isnan(round_tf32_ties_away(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(round_dest(1.0f + 0x1p-12f, true), 1.0f + 0x1p-12f);
  EXPECT_EQ(round_dest(1.0f + 0x1p-12f, false), 1.0f);
}

TEST(NumericsRounding, Bf16TiesAwayFromZero) {
  EXPECT_EQ(float_to_bfloat16_ties_away(bits(0x3F808000u)), 0x3F81);  // even rounding would give 0x3F80
  EXPECT_EQ(float_to_bfloat16(bits(0x3F808000u)), 0x3F80);
  EXPECT_EQ(float_to_bfloat16_ties_away(bits(0xBF808000u)), 0xBF81);
  EXPECT_EQ(float_to_bfloat16_ties_away(bits(0x3F807FFFu)), 0x3F80);
  EXPECT_EQ(float_to_bfloat16_ties_away(bits(0x3F818000u)), 0x3F82);
  EXPECT_EQ(float_to_bfloat16_ties_away(bits(0x7F7F8000u)), 0x7F80);  // overflow to inf
  EXPECT_EQ(float_to_bfloat16_ties_away(std::numeric_limits<float>::quiet_NaN()), 0x7FC0);
  EXPECT_EQ(round_bf16_ties_away(1.0f + 0x1p-8f), 1.0f + 0x1p-7f);
  EXPECT_EQ(narrow_dest(1.0f + 0x1p-8f, false), 1.0f + 0x1p-7f);
  EXPECT_EQ(narrow_dest(1.0f + 0x1p-8f, true), 1.0f + 0x1p-8f);
}

}  // namespace
}  // namespace ttt::ops::numerics
