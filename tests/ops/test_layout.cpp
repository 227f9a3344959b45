#include <gtest/gtest.h>

#include <cstring>

#include "elementwise_test_util.hpp"
#include "ops/layout/layout.hpp"

namespace ttt::test {
namespace {

using ops::TilizeArgs;
using ops::TilizeOp;
using ops::UntilizeArgs;
using ops::UntilizeOp;

TEST(Layout, TilizeUntilizeRoundTrip) {
  Device& cpu = *device("cpu");
  const std::vector<Shape> shapes = {{100}, {5, 172}, {2, 3, 40, 70}, {1, 64, 2048}, {3, 1, 33}};
  for (const Shape& shape : shapes) {
    for (DataType dt : {DataType::FLOAT32, DataType::BFLOAT16, DataType::INT32, DataType::UINT32}) {
      SCOPED_TRACE(shape.str() + " " + std::string(to_string(dt)));
      const auto v = random_values(static_cast<std::size_t>(shape.volume()), 5, 0.f, 1000.f);
      const Tensor rm = make_tensor(v, shape, dt, Layout::ROW_MAJOR, "x");
      const TilizeArgs targs{rm.spec()};
      const OpConfig to_tile = host_config(dt, Layout::TILE);
      TilizeOp::validate(targs, to_tile, cpu.spec());
      Tensor tiled = Tensor::empty(TilizeOp::output_spec(targs, to_tile));
      auto ctx = context(cpu);
      TilizeOp::run(targs, rm, tiled, to_tile, ctx);
      // Byte-identical to the host conversion (zeros in the padding).
      const Tensor want = make_tensor(v, shape, dt, Layout::TILE);
      ASSERT_EQ(std::memcmp(tiled.raw(), want.raw(), static_cast<std::size_t>(want.bytes())), 0);

      const UntilizeArgs uargs{tiled.spec()};
      const OpConfig to_rm = host_config(dt, Layout::ROW_MAJOR);
      UntilizeOp::validate(uargs, to_rm, cpu.spec());
      Tensor back = Tensor::empty(UntilizeOp::output_spec(uargs, to_rm));
      UntilizeOp::run(uargs, tiled, back, to_rm, ctx);
      ASSERT_EQ(std::memcmp(back.raw(), rm.raw(), static_cast<std::size_t>(rm.bytes())), 0);
    }
  }
}

TEST(LayoutValidation, EachErrorOnce) {
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec rm{"x", Shape{32, 64}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  TilizeOp::validate({rm}, device_config(), n150);
  expect_error([&] { TilizeOp::validate({rm}, device_config(DataType::BFLOAT8_B), n150); }, ErrorKind::InvalidConfig,
               {"tilize", "BFLOAT8_B", "typecast"});
  expect_error([&] { UntilizeOp::validate({rm}, host_config(DataType::BFLOAT16), n150); }, ErrorKind::InvalidConfig,
               {"untilize", "ROW_MAJOR, expected TILE"});
  const TensorSpec bfp{"w", Shape{32, 64}, DataType::BFLOAT8_B, Layout::TILE, {}};
  expect_error([&] { UntilizeOp::validate({bfp}, host_config(DataType::BFLOAT8_B), n150); }, ErrorKind::InvalidConfig,
               {"untilize", "input dtype BFLOAT8_B"});
  expect_error([&] { TilizeOp::validate({rm}, host_config(DataType::BFLOAT16, Layout::ROW_MAJOR), n150); },
               ErrorKind::InvalidConfig, {"tilize", "layout ROW_MAJOR", "set layout TILE"});
  const Cost c = TilizeOp::cost({rm}, device_config(), n150);
  EXPECT_GT(c.total_s(), 0.0);
}

}  // namespace
}  // namespace ttt::test
