#include <gtest/gtest.h>

#include "ttt/error.hpp"
#include "ttt/shape.hpp"
#include "ttt/tensor.hpp"

namespace ttt {
namespace {

TEST(Error, CarriesKindAndMessage) {
  for (ErrorKind k : enum_values<ErrorKind>()) {
    try {
      fail(k, "expected {} found {}", 1, 2);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), k);
      EXPECT_EQ(e.detail(), "expected 1 found 2");
      EXPECT_NE(std::string(e.what()).find(std::string(to_string(k))), std::string::npos);
    }
  }
  EXPECT_EQ(enum_count<ErrorKind>(), 7u);
}

TEST(Shape, BasicsAndNegativeIndices) {
  Shape s{2, 3, 70};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s[-1], 70);
  EXPECT_EQ(s.volume(), 420);
  EXPECT_EQ(s.rows(), 6);
  EXPECT_EQ(s.str(), "[2, 3, 70]");
  EXPECT_THROW(s[3], Error);
  EXPECT_THROW((Shape{1, -2}), Error);
}

TEST(Shape, TilePaddingOnlyTouchesLastTwoDims) {
  EXPECT_EQ(padded_shape(Shape{3, 45, 70}, Layout::TILE), (Shape{3, 64, 96}));
  EXPECT_EQ(padded_shape(Shape{3, 45, 70}, Layout::ROW_MAJOR), (Shape{3, 45, 70}));
  EXPECT_EQ(padded_shape(Shape{5}, Layout::TILE), (Shape{32, 32}));
  EXPECT_EQ(padded_shape(Shape{64, 64}, Layout::TILE), (Shape{64, 64}));
}

TEST(Shape, StorageBytesPerFormat) {
  const Shape s{2, 40, 70};  // tiles to 2 x 64 x 96 = 2 x 2 x 3 tiles
  EXPECT_EQ(storage_bytes(s, DataType::BFLOAT16, Layout::TILE), 12 * 2048);
  EXPECT_EQ(storage_bytes(s, DataType::BFLOAT8_B, Layout::TILE), 12 * 1088);
  EXPECT_EQ(storage_bytes(s, DataType::BFLOAT4_B, Layout::TILE), 12 * 576);
  EXPECT_EQ(storage_bytes(s, DataType::FLOAT32, Layout::ROW_MAJOR), 2 * 40 * 70 * 4);
  try {
    storage_bytes(s, DataType::BFLOAT8_B, Layout::ROW_MAJOR);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    EXPECT_NE(std::string(e.what()).find("TILE"), std::string::npos);
  }
}

TEST(Tensor, EmptyIsZeroedAndAligned) {
  Tensor t = Tensor::empty({"x", Shape{3, 5}, DataType::FLOAT32, Layout::ROW_MAJOR, {}});
  EXPECT_EQ(t.name(), "x");
  EXPECT_EQ(t.bytes(), 60);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.f);
}

TEST(Tensor, ViewSharesStorageAndChecksSize) {
  Tensor t = Tensor::empty({"act", Shape{4, 8}, DataType::FLOAT32, Layout::ROW_MAJOR, {}});
  t.data<float>()[0] = 7.f;
  Tensor v = t.view(Shape{2, 8});
  EXPECT_EQ(v.data<float>()[0], 7.f);
  EXPECT_EQ(v.storage().get(), t.storage().get());
  try {
    t.view(Shape{5, 8});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("[4, 8]"), std::string::npos) << e.what();
  }
}

TEST(Tensor, StorageTooSmallIsRejected) {
  auto storage = std::make_shared<HeapStorage>(16);
  EXPECT_THROW(Tensor({"w", Shape{8}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, storage), Error);
  EXPECT_NO_THROW(Tensor({"w", Shape{4}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, storage));
}

TEST(Tensor, SpecPrintsEverything) {
  TensorSpec s{"layers.0.attention.qkv_matmul.weight", Shape{64, 96}, DataType::BFLOAT8_B, Layout::TILE, {}};
  const std::string text = s.str();
  for (const char* part : {"qkv_matmul.weight", "[64, 96]", "BFLOAT8_B", "TILE", "DRAM", "INTERLEAVED"})
    EXPECT_NE(text.find(part), std::string::npos) << text;
}

}  // namespace
}  // namespace ttt
