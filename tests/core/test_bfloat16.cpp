// bfloat16: the round-to-nearest-even rule, NaN and infinity, and the array forms.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ttt/formats.hpp"

namespace ttt {
namespace {

uint16_t bf16_of_bits(uint32_t u) { return float_to_bfloat16(std::bit_cast<float>(u)); }

TEST(Bfloat16, ExactValuesKeepTheirTopHalf) {
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bfloat16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bfloat16(0.0f), 0x0000);
  EXPECT_EQ(float_to_bfloat16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_bfloat16(0.15625f), 0x3E20);  // 1.25 * 2^-3: 0x3E200000
}

TEST(Bfloat16, TiesRoundToEven) {
  // Dropped half 0x8000 is exactly a tie. Kept LSB (bit 16) even -> stays.
  EXPECT_EQ(bf16_of_bits(0x3F808000), 0x3F80);
  // Kept LSB odd -> rounds up to the even neighbour.
  EXPECT_EQ(bf16_of_bits(0x3F818000), 0x3F82);
  // Negative ties behave the same on the magnitude.
  EXPECT_EQ(bf16_of_bits(0xBF808000), 0xBF80);
  EXPECT_EQ(bf16_of_bits(0xBF818000), 0xBF82);
}

TEST(Bfloat16, NonTiesRoundToNearest) {
  EXPECT_EQ(bf16_of_bits(0x3F808001), 0x3F81);  // just above half: up
  EXPECT_EQ(bf16_of_bits(0x3F807FFF), 0x3F80);  // just below half: down
  EXPECT_EQ(bf16_of_bits(0x3F817FFF), 0x3F81);  // odd LSB, below half: down
  EXPECT_EQ(bf16_of_bits(0x3F80FFFF), 0x3F81);
  // A carry out of the mantissa bumps the exponent: 1.99999988 -> 2.0.
  EXPECT_EQ(bf16_of_bits(0x3FFFFFFF), 0x4000);
}

TEST(Bfloat16, EveryNanBecomes7FC0) {
  EXPECT_EQ(float_to_bfloat16(std::numeric_limits<float>::quiet_NaN()), 0x7FC0);
  EXPECT_EQ(bf16_of_bits(0x7FC00000), 0x7FC0);
  EXPECT_EQ(bf16_of_bits(0xFFC00000), 0x7FC0);  // negative NaN loses its sign
  EXPECT_EQ(bf16_of_bits(0x7F800001), 0x7FC0);  // signalling NaN whose payload would truncate to inf
  EXPECT_EQ(bf16_of_bits(0x7FFFFFFF), 0x7FC0);  // would carry into the sign without the NaN rule
  EXPECT_EQ(bf16_of_bits(0xFF80FFFF), 0x7FC0);
}

TEST(Bfloat16, InfinityAndOverflow) {
  EXPECT_EQ(float_to_bfloat16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(float_to_bfloat16(-std::numeric_limits<float>::infinity()), 0xFF80);
  // The largest float rounds up past the largest bfloat16 (0x7F7F) to infinity.
  EXPECT_EQ(bf16_of_bits(0x7F7FFFFF), 0x7F80);
  EXPECT_EQ(bf16_of_bits(0x7F7F7FFF), 0x7F7F);
}

TEST(Bfloat16, DenormalsRoundLikeAnyOtherValue) {
  EXPECT_EQ(bf16_of_bits(0x00008000), 0x0000);  // tie, even: down to +0
  EXPECT_EQ(bf16_of_bits(0x00018000), 0x0002);  // tie, odd: up
  EXPECT_EQ(bf16_of_bits(0x00010001), 0x0001);
}

TEST(Bfloat16, DecodeShiftsIntoTheTopHalf) {
  EXPECT_EQ(bfloat16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bfloat16_to_float(0xC000), -2.0f);
  EXPECT_EQ(std::bit_cast<uint32_t>(bfloat16_to_float(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(bfloat16_to_float(0xFF80)));
  EXPECT_EQ(std::bit_cast<uint32_t>(bfloat16_to_float(0x7FC0)), 0x7FC00000u);
}

TEST(Bfloat16, EveryNonNanPatternRoundTripsExactly) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    const float f = bfloat16_to_float(bits);
    if (std::isnan(f)) {
      EXPECT_EQ(float_to_bfloat16(f), 0x7FC0) << std::hex << b;
    } else {
      ASSERT_EQ(float_to_bfloat16(f), bits) << std::hex << b;
    }
  }
}

TEST(Bfloat16, ArraysMatchTheScalarRule) {
  std::vector<float> in;
  for (uint32_t k = 0; k < 4096; ++k) in.push_back(std::bit_cast<float>(k * 0x0010FFF1u + 0x12345u));
  std::vector<uint16_t> packed(in.size());
  float_to_bfloat16(in, packed);
  for (std::size_t k = 0; k < in.size(); ++k) ASSERT_EQ(packed[k], float_to_bfloat16(in[k])) << k;
  std::vector<float> back(in.size());
  bfloat16_to_float(packed, back);
  for (std::size_t k = 0; k < in.size(); ++k) {
    ASSERT_EQ(std::bit_cast<uint32_t>(back[k]), static_cast<uint32_t>(packed[k]) << 16) << k;
  }
}

TEST(Bfloat16, ArraySizeMismatchIsAnError) {
  std::vector<float> in(5);
  std::vector<uint16_t> out(4);
  try {
    float_to_bfloat16(in, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ShapeMismatch);
    EXPECT_NE(e.detail().find("5"), std::string::npos);
    EXPECT_NE(e.detail().find("4"), std::string::npos);
  }
  std::vector<float> back(3);
  EXPECT_THROW(bfloat16_to_float(out, back), Error);
}

}  // namespace
}  // namespace ttt
