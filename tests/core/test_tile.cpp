// Tile layout (tilize/untilize for any element size, padding, batches) and the
// tensor-level conversions for every dtype and layout.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ttt/formats.hpp"

namespace ttt {
namespace {

TEST(Tile, ElementIndexFollowsTheFaces) {
  EXPECT_EQ(tile_element_index(0, 0), 0);
  EXPECT_EQ(tile_element_index(0, 15), 15);
  EXPECT_EQ(tile_element_index(1, 2), 18);
  EXPECT_EQ(tile_element_index(0, 16), 256);   // face 1 starts
  EXPECT_EQ(tile_element_index(15, 17), 256 + 15 * 16 + 1);
  EXPECT_EQ(tile_element_index(16, 0), 512);   // face 2
  EXPECT_EQ(tile_element_index(16, 16), 768);  // face 3
  EXPECT_EQ(tile_element_index(31, 31), 1023);
}

TEST(Tile, GeometryPadsOnlyTheLastTwoDims) {
  const TileGeometry g = tile_geometry(Shape{3, 45, 70});
  EXPECT_EQ(g.batch, 3);
  EXPECT_EQ(g.height, 45);
  EXPECT_EQ(g.width, 70);
  EXPECT_EQ(g.padded_height, 64);
  EXPECT_EQ(g.padded_width, 96);
  EXPECT_EQ(g.tiles(), 3 * 2 * 3);
  EXPECT_EQ(g.padded_elements(), padded_shape(Shape{3, 45, 70}, Layout::TILE).volume());
  const TileGeometry v = tile_geometry(Shape{45});  // a vector is one row
  EXPECT_EQ(v.height, 1);
  EXPECT_EQ(v.padded_elements(), padded_shape(Shape{45}, Layout::TILE).volume());
  const TileGeometry s = tile_geometry(Shape{});
  EXPECT_EQ(s.logical_elements(), 1);
  EXPECT_EQ(s.padded_elements(), 1024);
  EXPECT_EQ(tile_geometry(Shape{2, 1, 0, 5}).padded_elements(), 0);
}

// Expected tiled buffer, element by element from the definition.
template <typename T>
std::vector<T> reference_tilize(const std::vector<T>& src, const Shape& shape) {
  const TileGeometry g = tile_geometry(shape);
  std::vector<T> out(static_cast<std::size_t>(g.padded_elements()), T{});
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t i = 0; i < g.height; ++i)
      for (int64_t j = 0; j < g.width; ++j) {
        const int64_t tile = b * g.tile_rows() * g.tile_cols() + (i / 32) * g.tile_cols() + j / 32;
        out[static_cast<std::size_t>(tile * 1024 + tile_element_index(i % 32, j % 32))] =
            src[static_cast<std::size_t>((b * g.height + i) * g.width + j)];
      }
  return out;
}

template <typename T>
void check_tilize_round_trip(const Shape& shape) {
  const TileGeometry g = tile_geometry(shape);
  std::vector<T> src(static_cast<std::size_t>(g.logical_elements()));
  for (std::size_t k = 0; k < src.size(); ++k) src[k] = static_cast<T>(k + 1);
  // Pre-fill with garbage: tilize must write the zeros of the padding itself.
  std::vector<T> tiled(static_cast<std::size_t>(g.padded_elements()), static_cast<T>(77));
  tilize(std::span<const T>(src), std::span<T>(tiled), shape);
  ASSERT_EQ(tiled, reference_tilize(src, shape)) << shape.str();
  std::vector<T> back(src.size(), static_cast<T>(0));
  untilize(std::span<const T>(tiled), std::span<T>(back), shape);
  ASSERT_EQ(back, src) << shape.str();
}

TEST(Tile, TilizeNonMultipleShapesWithZeroPadding) {
  check_tilize_round_trip<uint16_t>(Shape{1, 5});
  check_tilize_round_trip<uint16_t>(Shape{45});
  check_tilize_round_trip<uint16_t>(Shape{});
  check_tilize_round_trip<float>(Shape{33, 17});
  check_tilize_round_trip<int32_t>(Shape{3, 45, 70});
  check_tilize_round_trip<uint8_t>(Shape{2, 2, 31, 33});
  check_tilize_round_trip<double>(Shape{2, 64, 96});  // exact multiples: no padding
}

TEST(Tile, TilizeOneByFiveLayout) {
  const std::vector<uint16_t> src{1, 2, 3, 4, 5};
  const std::vector<uint16_t> tiled = tilize(std::span<const uint16_t>(src), Shape{1, 5});
  ASSERT_EQ(tiled.size(), 1024u);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(tiled[static_cast<std::size_t>(k)], k + 1);
  for (std::size_t k = 5; k < tiled.size(); ++k) ASSERT_EQ(tiled[k], 0) << k;
}

TEST(Tile, MultiBatchSlicesAreTiledSeparately) {
  // [2, 40, 40]: each slice pads to 64 x 64 = 4 tiles; slice 1 starts at tile 4, and the
  // rows 40..63 of slice 0 are zeros rather than the start of slice 1.
  const Shape shape{2, 40, 40};
  std::vector<int32_t> src(2 * 40 * 40);
  for (std::size_t k = 0; k < src.size(); ++k) src[k] = static_cast<int32_t>(k + 1);
  const std::vector<int32_t> tiled = tilize(std::span<const int32_t>(src), shape);
  ASSERT_EQ(tiled.size(), 8u * 1024u);
  EXPECT_EQ(tiled[static_cast<std::size_t>(4 * 1024)], 1601);  // slice 1, element (0, 0)
  // Tile 2 of slice 0 covers rows 32..63, cols 0..31: row 39 is data, row 40 padding.
  EXPECT_EQ(tiled[static_cast<std::size_t>(2 * 1024 + tile_element_index(7, 0))], 39 * 40 + 1);
  EXPECT_EQ(tiled[static_cast<std::size_t>(2 * 1024 + tile_element_index(8, 0))], 0);
  // Tile 1 covers cols 32..63: col 39 is data, col 40 padding.
  EXPECT_EQ(tiled[static_cast<std::size_t>(1 * 1024 + tile_element_index(0, 7))], 40);
  EXPECT_EQ(tiled[static_cast<std::size_t>(1 * 1024 + tile_element_index(0, 8))], 0);
}

TEST(Tile, AnyElementSize) {
  // A 3-byte element takes the generic path.
  const Shape shape{2, 5, 35};
  const TileGeometry g = tile_geometry(shape);
  std::vector<uint8_t> src(static_cast<std::size_t>(g.logical_elements() * 3));
  for (std::size_t k = 0; k < src.size(); ++k) src[k] = static_cast<uint8_t>(k * 7 + 1);
  std::vector<uint8_t> tiled(static_cast<std::size_t>(g.padded_elements() * 3), 0xEE);
  tilize(src.data(), tiled.data(), shape, 3);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 32; ++i)
      for (int64_t j = 0; j < 64; ++j) {
        const int64_t tile = b * 2 + j / 32;
        const int64_t at = (tile * 1024 + tile_element_index(i, j % 32)) * 3;
        for (int64_t byte = 0; byte < 3; ++byte) {
          const uint8_t want =
              (i < 5 && j < 35) ? src[static_cast<std::size_t>(((b * 5 + i) * 35 + j) * 3 + byte)] : 0;
          ASSERT_EQ(tiled[static_cast<std::size_t>(at + byte)], want) << b << " " << i << " " << j;
        }
      }
  std::vector<uint8_t> back(src.size());
  untilize(tiled.data(), back.data(), shape, 3);
  EXPECT_EQ(back, src);
}

TEST(Tile, SizeMismatchIsAnError) {
  std::vector<float> src(5), tiled(1023), back(4);
  EXPECT_THROW(tilize(std::span<const float>(src), std::span<float>(tiled), Shape{1, 5}), Error);
  std::vector<float> ok(1024);
  EXPECT_THROW(untilize(std::span<const float>(ok), std::span<float>(back), Shape{1, 5}), Error);
  try {
    tilize(std::span<const float>(back), std::span<float>(ok), Shape{1, 5});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ShapeMismatch);
    EXPECT_NE(e.detail().find("[1, 5]"), std::string::npos) << e.what();
  }
}

// ---- tensors ---------------------------------------------------------------------------

std::vector<float> sample_values(int64_t n, bool integers) {
  std::mt19937 rng(static_cast<uint32_t>(n));
  std::normal_distribution<float> dist(0.0f, 4.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = integers ? std::round(std::abs(dist(rng)) * 100.0f) : dist(rng);
  return v;
}

TEST(TileConvert, WholeByteDtypesRoundTripInBothLayouts) {
  for (const Shape& shape : {Shape{3, 45, 70}, Shape{1, 5}, Shape{64, 32}, Shape{7}}) {
    for (DataType t : {DataType::FLOAT32, DataType::BFLOAT16, DataType::INT32, DataType::UINT32}) {
      for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        const bool integers = !is_float(t);
        const std::vector<float> values = sample_values(shape.volume(), integers);
        const Tensor tensor = from_float(values, TensorSpec{.name = "x", .shape = shape, .dtype = t, .layout = layout});
        EXPECT_EQ(tensor.bytes(), storage_bytes(shape, t, layout));
        const std::vector<float> back = to_float(tensor);
        ASSERT_EQ(back.size(), values.size());
        for (std::size_t k = 0; k < values.size(); ++k) {
          const float want = t == DataType::BFLOAT16 ? bfloat16_to_float(float_to_bfloat16(values[k])) : values[k];
          ASSERT_EQ(back[k], want) << shape.str() << " " << to_string(t) << " " << to_string(layout) << " @" << k;
        }
      }
    }
  }
}

TEST(TileConvert, TileStorageIsTheTilizedRowMajorStorage) {
  const Shape shape{3, 45, 70};
  const std::vector<float> values = sample_values(shape.volume(), false);
  for (DataType t : {DataType::FLOAT32, DataType::BFLOAT16}) {
    const Tensor rm = from_float(values, TensorSpec{.name = "x", .shape = shape, .dtype = t, .layout = Layout::ROW_MAJOR});
    const Tensor tile = from_float(values, TensorSpec{.name = "x", .shape = shape, .dtype = t, .layout = Layout::TILE});
    const auto eb = static_cast<std::size_t>(element_bytes(t));
    std::vector<uint8_t> tiled(static_cast<std::size_t>(tile.bytes()), 0xCD);
    tilize(rm.raw(), tiled.data(), shape, eb);
    ASSERT_EQ(0, std::memcmp(tiled.data(), tile.raw(), tiled.size())) << to_string(t);
  }
}

TEST(TileConvert, BlockFloatsRoundTripOnNonMultipleShapes) {
  for (const Shape& shape : {Shape{3, 45, 70}, Shape{1, 5}, Shape{2, 40, 40}, Shape{9}}) {
    const std::vector<float> values = sample_values(shape.volume(), false);
    for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
      const Tensor tensor =
          from_float(values, TensorSpec{.name = "w", .shape = shape, .dtype = t, .layout = Layout::TILE});
      ASSERT_EQ(tensor.bytes(), tile_geometry(shape).tiles() * tile_bytes(t));
      // Same bytes as tilizing (zeros in the padding) and packing whole tiles.
      const std::vector<float> tiled = tilize(std::span<const float>(values), shape);
      std::vector<uint8_t> packed(static_cast<std::size_t>(tensor.bytes()));
      pack_bfp_tiles(t, tiled, packed);
      ASSERT_EQ(0, std::memcmp(packed.data(), tensor.raw(), packed.size())) << shape.str() << " " << to_string(t);
      // Decoding equals unpacking whole tiles and dropping the padding.
      std::vector<float> unpacked(tiled.size());
      unpack_bfp_tiles(t, packed, unpacked);
      const std::vector<float> want = untilize(std::span<const float>(unpacked), shape);
      std::vector<float> back(values.size());
      to_float(tensor, back);
      ASSERT_EQ(back, want) << shape.str() << " " << to_string(t);
      // And the error stays under one step of each value's row exponent: <= |row max| * 2^-(bits-1).
      const double rel = std::ldexp(1.0, -(block_float_mantissa_bits(t) - 1));
      for (std::size_t k = 0; k < values.size(); ++k) {
        ASSERT_LE(std::abs(back[k] - values[k]), 2 * rel * 16.0 + 1e-6) << k;
      }
    }
  }
}

TEST(TileConvert, BlockFloatPaddingRowsAreZero) {
  // [1, 5] in bfp8: face 0 row 0 holds the data; rows 1..15 and faces 1..3 are padding
  // with exponent 0 and zero codes.
  const std::vector<float> values{1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  const Tensor tensor =
      from_float(values, TensorSpec{.name = "x", .shape = {1, 5}, .dtype = DataType::BFLOAT8_B, .layout = Layout::TILE});
  const auto* bytes = tensor.data<const uint8_t>();
  EXPECT_EQ(bytes[0], 129);  // 5.0 = 1.25 * 2^2
  for (int q = 1; q < 64; ++q) EXPECT_EQ(bytes[q], 0) << q;
  // 1, 2, 3, 4, 5 at exponent 129: m = v * 2^(6 - 2) = 16, 32, 48, 64, 80.
  const std::vector<uint8_t> row0{16, 32, 48, 64, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(bytes + 64, bytes + 80), row0);
  for (int k = 80; k < 1088; ++k) ASSERT_EQ(bytes[k], 0) << k;
  EXPECT_EQ(to_float(tensor), values);
}

TEST(TileConvert, IntegerConversionTruncatesAndSaturates) {
  const std::vector<float> values{2.9f, -2.9f, 3e9f, -3e9f, std::nanf(""), 0.5f};
  const Tensor i32 = from_float(values, TensorSpec{.name = "x", .shape = {6}, .dtype = DataType::INT32});
  const std::vector<int32_t> want_i{2, -2, 2147483647, -2147483647 - 1, 0, 0};
  EXPECT_EQ(std::vector<int32_t>(i32.data<int32_t>(), i32.data<int32_t>() + 6), want_i);
  const Tensor u32 = from_float(values, TensorSpec{.name = "x", .shape = {6}, .dtype = DataType::UINT32});
  const std::vector<uint32_t> want_u{2, 0, 3000000000u, 0, 0, 0};
  EXPECT_EQ(std::vector<uint32_t>(u32.data<uint32_t>(), u32.data<uint32_t>() + 6), want_u);
  const Tensor big = from_float(std::vector<float>{5e9f}, TensorSpec{.name = "x", .shape = {1}, .dtype = DataType::UINT32});
  EXPECT_EQ(big.data<uint32_t>()[0], 4294967295u);
}

TEST(TileConvert, BlockFloatInRowMajorIsAnError) {
  const std::vector<float> values(15);
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    try {
      from_float(values, TensorSpec{.name = "w", .shape = {3, 5}, .dtype = t, .layout = Layout::ROW_MAJOR});
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
      EXPECT_NE(e.detail().find("TILE"), std::string::npos) << e.what();
      EXPECT_NE(e.detail().find(std::string(to_string(t))), std::string::npos) << e.what();
    }
  }
}

TEST(TileConvert, WrongValueCountIsAnError) {
  const std::vector<float> values(14);
  try {
    from_float(values, TensorSpec{.name = "w", .shape = {3, 5}, .dtype = DataType::BFLOAT16});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ShapeMismatch);
    EXPECT_NE(e.detail().find("needs 15 values; got 14"), std::string::npos) << e.what();
  }
  const Tensor t = from_float(std::vector<float>(15), TensorSpec{.name = "x", .shape = {3, 5}, .dtype = DataType::BFLOAT16});
  std::vector<float> out(16);
  try {
    to_float(t, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ShapeMismatch);
    EXPECT_NE(e.detail().find("15"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(to_float(Tensor{}), Error);
}

}  // namespace
}  // namespace ttt
