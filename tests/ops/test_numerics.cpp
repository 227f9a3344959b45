// The Tensix numerics helpers: source-register truncation, the fidelity phase masks,
// the destination and packer roundings (ties away from zero); and the same rules seen
// through the matmul op on hand-computed operands.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <memory>
#include <vector>

#include "ops/matmul/matmul.hpp"
#include "ops/numerics/ttnn_numerics.hpp"
#include "ttt/formats.hpp"
#include "ttt/thread_pool.hpp"

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

// ---------------------------------------------------------------------------------------
// Through the matmul op (ttnn:n150)
// ---------------------------------------------------------------------------------------

// One output of the Tensix matmul model: x [1, k] @ w [k, 1], both TILE, on n150.
float ttnn_dot(const std::vector<float>& x, const std::vector<float>& w, DataType x_dtype, DataType w_dtype,
               ComputeKernelConfig cc) {
  static const std::shared_ptr<Device> n150 = Device::open("ttnn:n150");
  const auto k = static_cast<int64_t>(x.size());
  const Tensor xt = from_float(x, TensorSpec{"x", Shape{1, k}, x_dtype, Layout::TILE, {}});
  const Tensor wt = from_float(w, TensorSpec{"w", Shape{k, 1}, w_dtype, Layout::TILE, {}});
  MatmulArgs args;
  args.x = xt.spec();
  args.weight = wt.spec();
  OpConfig cfg;
  cfg.dtype = DataType::FLOAT32;
  cfg.layout = Layout::TILE;
  cfg.compute_kernel_config = cc;
  MatmulOp::validate(args, cfg, n150->spec());
  Tensor out = Tensor::empty(MatmulOp::output_spec(args, cfg));
  ExecContext ctx{*n150, ThreadPool::global(), 0};
  MatmulOp::run(args, xt, wt, nullptr, out, cfg, ctx);
  return to_float(out)[0];
}

ComputeKernelConfig compute(MathFidelity f, bool fp32) {
  ComputeKernelConfig c;
  c.math_fidelity = f;
  c.fp32_dest_acc_en = fp32;
  return c;
}

// a = 1 + 2^-5 sits in SrcA's second phase part; b = 1 + 2^-7 in SrcB's low part.
TEST(NumericsMatmul, FidelityPhasesReadTheirMantissaBits) {
  const float a = 1.0f + 0x1p-5f, b = 1.0f + 0x1p-7f;
  const float expected[] = {1.0f, 1.0f + 0x1p-5f, 1.0f + 0x1p-5f + 0x1p-7f, 1.0f + 0x1p-5f + 0x1p-7f + 0x1p-12f};
  for (int f = 0; f < 4; ++f) {
    const auto fid = static_cast<MathFidelity>(f);
    EXPECT_EQ(ttnn_dot({b}, {a}, DataType::BFLOAT16, DataType::BFLOAT16, compute(fid, true)), expected[f])
        << to_string(fid);
  }
  // Without fp32 accumulation HiFi4's 2^-12 is below TF32 and the result is bfloat16.
  EXPECT_EQ(ttnn_dot({b}, {a}, DataType::BFLOAT16, DataType::BFLOAT16, compute(MathFidelity::HiFi4, false)),
            1.0f + 0x1p-5f + 0x1p-7f);
  // Operands swapped: b in SrcA is read whole by HiFi2 (its 2^-7 is in the second part),
  // a in SrcB whole at LoFi (2^-5 is among the top six bits).
  EXPECT_EQ(ttnn_dot({a}, {b}, DataType::BFLOAT16, DataType::BFLOAT16, compute(MathFidelity::LoFi, true)),
            1.0f + 0x1p-5f);
  EXPECT_EQ(ttnn_dot({a}, {b}, DataType::BFLOAT16, DataType::BFLOAT16, compute(MathFidelity::HiFi2, true)),
            (1.0f + 0x1p-5f) * (1.0f + 0x1p-7f));
}

TEST(NumericsMatmul, Fp32OperandsAreTruncatedToTheSourceRegisters) {
  const auto hifi4 = compute(MathFidelity::HiFi4, true);
  // SrcB keeps 10 mantissa bits (truncated): 2^-10 stays, 2^-11 and below go.
  EXPECT_EQ(ttnn_dot({1.0f + 0x1p-10f}, {1.0f}, DataType::FLOAT32, DataType::BFLOAT16, hifi4), 1.0f + 0x1p-10f);
  EXPECT_EQ(ttnn_dot({1.0f + 0x1p-11f + 0x1p-12f}, {1.0f}, DataType::FLOAT32, DataType::BFLOAT16, hifi4), 1.0f);
  // SrcA never reads the last TF32 bit: 2^-10 of a FLOAT32 weight is lost, 2^-9 is not.
  EXPECT_EQ(ttnn_dot({1.0f}, {1.0f + 0x1p-10f}, DataType::BFLOAT16, DataType::FLOAT32, hifi4), 1.0f);
  EXPECT_EQ(ttnn_dot({1.0f}, {1.0f + 0x1p-9f}, DataType::BFLOAT16, DataType::FLOAT32, hifi4), 1.0f + 0x1p-9f);
}

TEST(NumericsMatmul, DestinationRoundsPerKTileAndNarrowsTiesAway) {
  // 1 then 2^-12 in each of 32 further K tiles: exact sum 1 + 2^-7. The 16-bit
  // destination rounds 1 + 2^-12 back to 1 after every tile; fp32 keeps it.
  std::vector<float> x(33 * 32, 0.0f), w(33 * 32, 1.0f);
  x[0] = 1.0f;
  for (int t = 1; t <= 32; ++t) x[t * 32] = 0x1p-12f;
  const auto hifi4 = [](bool fp32) { return compute(MathFidelity::HiFi4, fp32); };
  EXPECT_EQ(ttnn_dot(x, w, DataType::BFLOAT16, DataType::BFLOAT16, hifi4(true)), 1.0f + 0x1p-7f);
  EXPECT_EQ(ttnn_dot(x, w, DataType::BFLOAT16, DataType::BFLOAT16, hifi4(false)), 1.0f);
  // 1 + 2^-8 is a bfloat16 tie: away from zero gives 1 + 2^-7 (even rounding would give 1).
  EXPECT_EQ(ttnn_dot({1.0f, 0x1p-8f}, {1.0f, 1.0f}, DataType::BFLOAT16, DataType::BFLOAT16, hifi4(false)),
            1.0f + 0x1p-7f);
  EXPECT_EQ(ttnn_dot({-1.0f, -0x1p-8f}, {1.0f, 1.0f}, DataType::BFLOAT16, DataType::BFLOAT16, hifi4(false)),
            -1.0f - 0x1p-7f);
  EXPECT_EQ(ttnn_dot({1.0f, 0x1p-8f}, {1.0f, 1.0f}, DataType::BFLOAT16, DataType::BFLOAT16, hifi4(true)),
            1.0f + 0x1p-8f);
}

}  // namespace
}  // namespace ttt::ops::numerics
