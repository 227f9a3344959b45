#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "elementwise_test_util.hpp"
#include "ops/typecast/typecast.hpp"

namespace ttt::test {
namespace {

using ops::TypecastArgs;
using ops::TypecastOp;

Tensor cast(const Tensor& x, DataType to, Layout layout, const std::string& dev_name = "cpu") {
  Device& dev = *device(dev_name);
  const TypecastArgs args{x.spec()};
  const OpConfig cfg = host_config(to, layout);
  TypecastOp::validate(args, cfg, dev.spec());
  Tensor out = Tensor::empty(TypecastOp::output_spec(args, cfg));
  auto ctx = context(dev);
  TypecastOp::run(args, x, out, cfg, ctx);
  return out;
}

TEST(Typecast, FloatPairsRoundLikeTheHostConversions) {
  const Shape shape{2, 5, 172};
  const auto v = random_values(static_cast<std::size_t>(shape.volume()), 4, -100.f, 100.f);
  const std::vector<std::pair<DataType, Layout>> formats = {
      {DataType::FLOAT32, Layout::ROW_MAJOR}, {DataType::BFLOAT16, Layout::ROW_MAJOR},
      {DataType::FLOAT32, Layout::TILE},      {DataType::BFLOAT16, Layout::TILE},
      {DataType::BFLOAT8_B, Layout::TILE},    {DataType::BFLOAT4_B, Layout::TILE}};
  for (const auto& [from, from_layout] : formats) {
    const Tensor x = make_tensor(v, shape, from, from_layout, "x");
    const auto xv = to_float(x);
    for (const auto& [to, to_layout] : formats) {
      SCOPED_TRACE(std::string(to_string(from)) + " " + std::string(to_string(from_layout)) + " -> " +
                   std::string(to_string(to)) + " " + std::string(to_string(to_layout)));
      const Tensor y = cast(x, to, to_layout, "ttnn:n150");
      // Bytes equal to converting the source values directly.
      const Tensor expected = make_tensor(xv, shape, to, to_layout);
      ASSERT_EQ(y.bytes(), expected.bytes());
      EXPECT_EQ(std::memcmp(y.raw(), expected.raw(), static_cast<std::size_t>(y.bytes())), 0);
    }
  }
}

TEST(Typecast, IntegersTruncateAndSaturate) {
  const std::vector<float> v = {1.9f, -1.9f, 0.5f, -0.5f, 3e9f, -3e9f, 16777217.f, 7.f};
  const Tensor x = make_tensor(v, Shape{2, 4}, DataType::FLOAT32, Layout::ROW_MAJOR, "x");
  const Tensor i = cast(x, DataType::INT32, Layout::ROW_MAJOR);
  const std::vector<int32_t> want_i = {
      1, -1, 0, 0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 16777216, 7};
  for (std::size_t k = 0; k < want_i.size(); ++k) EXPECT_EQ(i.data<int32_t>()[k], want_i[k]) << k;
  const Tensor u = cast(x, DataType::UINT32, Layout::TILE);
  const auto uv = to_float(u);
  EXPECT_EQ(uv[0], 1.f);
  EXPECT_EQ(uv[1], 0.f);
  EXPECT_EQ(uv[4], 3e9f);
  // INT32 <-> UINT32 is exact, saturating at the target's range.
  const Tensor big = cast(i, DataType::UINT32, Layout::ROW_MAJOR);
  EXPECT_EQ(big.data<uint32_t>()[1], 0u);
  EXPECT_EQ(big.data<uint32_t>()[4], static_cast<uint32_t>(std::numeric_limits<int32_t>::max()));
  Tensor huge = Tensor::empty(TensorSpec{"u", Shape{3}, DataType::UINT32, Layout::ROW_MAJOR, {}});
  huge.data<uint32_t>()[0] = 4000000000u;
  huge.data<uint32_t>()[1] = 123456789u;
  const Tensor back = cast(huge, DataType::INT32, Layout::TILE);
  const Tensor back_rm = cast(back, DataType::INT32, Layout::ROW_MAJOR);
  EXPECT_EQ(back_rm.data<int32_t>()[0], std::numeric_limits<int32_t>::max());
  EXPECT_EQ(back_rm.data<int32_t>()[1], 123456789);  // above 2^24: exact, no float detour
  // INT32 -> BFLOAT16 rounds to nearest even (via fp32, as the device does).
  const Tensor bf = cast(i, DataType::BFLOAT16, Layout::ROW_MAJOR);
  EXPECT_EQ(to_float(bf)[6], bfloat16_to_float(float_to_bfloat16(16777216.f)));
}

TEST(TypecastValidation, EachErrorOnce) {
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec x{"x", Shape{32, 64}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  expect_error([&] { TypecastOp::validate({x}, host_config(DataType::BFLOAT8_B, Layout::ROW_MAJOR), n150); },
               ErrorKind::InvalidConfig, {"typecast", "output dtype BFLOAT8_B", "TILE"});
  OpConfig cfg = host_config(DataType::FLOAT32, Layout::TILE);
  cfg.kernel_config = Matmul1DConfig{};
  expect_error([&] { TypecastOp::validate({x}, cfg, n150); }, ErrorKind::InvalidConfig, {"typecast", "matmul_1d"});
}

}  // namespace
}  // namespace ttt::test
