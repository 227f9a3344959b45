// Memory configs: printing, and each of TTNN's sharding rules on its own.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "ttt/error.hpp"
#include "ttt/memory_config.hpp"

namespace ttt {
namespace {

const CoreGrid kWormholeGrid{8, 8};

MemoryConfig sharded(TensorMemoryLayout layout, CoreGrid grid, int64_t h, int64_t w,
                     ShardOrientation orientation = ShardOrientation::ROW_MAJOR,
                     BufferType buffer = BufferType::L1) {
  return MemoryConfig{layout, buffer, ShardSpec{grid, {h, w}, orientation}};
}

// Runs `f`, expects an InvalidConfig error and returns its message.
template <typename F>
std::string invalid_config_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig) << e.what();
    return e.detail();
  }
  ADD_FAILURE() << "expected an InvalidConfig error";
  return {};
}

void expect_contains(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
}

std::string check_error(const Shape& shape, DataType dtype, Layout layout, const MemoryConfig& mem,
                        CoreGrid device = kWormholeGrid) {
  return invalid_config_message([&] { check_sharding(shape, dtype, layout, mem, device, "qkv_matmul output"); });
}

TEST(MemoryConfig, Strings) {
  EXPECT_EQ(CoreGrid({8, 4}).str(), "8x4");
  EXPECT_EQ(kDramInterleaved.str(), "DRAM INTERLEAVED");
  EXPECT_EQ(kL1Interleaved.str(), "L1 INTERLEAVED");
  EXPECT_EQ(sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 4}, 32, 2048).str(),
            "L1 HEIGHT_SHARDED grid 8x4 shard [32, 2048] ROW_MAJOR");
  EXPECT_EQ((MemoryConfig{TensorMemoryLayout::BLOCK_SHARDED, BufferType::L1, std::nullopt}).str(),
            "L1 BLOCK_SHARDED (no shard spec)");
}

// ---- each rule, once ----

TEST(CheckSharding, BlockFloatNeedsTile) {
  auto msg = check_error({64, 64}, DataType::BFLOAT8_B, Layout::ROW_MAJOR, kDramInterleaved);
  expect_contains(msg, {"qkv_matmul output", "BFLOAT8_B", "layout = ROW_MAJOR", "use layout TILE"});
}

TEST(CheckSharding, InterleavedTakesNoShardSpec) {
  MemoryConfig mem = kL1Interleaved;
  mem.shard_spec = ShardSpec{{8, 4}, {32, 64}, ShardOrientation::ROW_MAJOR};
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE, mem);
  expect_contains(msg, {"qkv_matmul output", "memory_config.shard_spec = grid 8x4 shard [32, 64] ROW_MAJOR",
                        "remove the shard spec"});
}

TEST(CheckSharding, ShardedNeedsShardSpec) {
  MemoryConfig mem{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1, std::nullopt};
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE, mem);
  expect_contains(msg, {"HEIGHT_SHARDED needs a shard spec", "memory_config.shard_spec = none", "use INTERLEAVED"});
}

TEST(CheckSharding, GridWithoutCores) {
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {0, 4}, 32, 64));
  expect_contains(msg, {"memory_config.shard_spec.grid = 0x4", "at least 1x1 within 8x8"});
}

TEST(CheckSharding, GridOutsideDevice) {
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {9, 1}, 32, 64));
  expect_contains(msg, {"shard grid 9x1 does not fit in the device grid 8x8", "memory_config.shard_spec.grid = 9x1",
                        "use a grid within 8x8"});
}

TEST(CheckSharding, DramGridCountsBanks) {
  auto mem = sharded(TensorMemoryLayout::WIDTH_SHARDED, {13, 1}, 32, 128, ShardOrientation::ROW_MAJOR,
                     BufferType::DRAM);
  auto msg = check_error({32, 1664}, DataType::BFLOAT16, Layout::TILE, mem, CoreGrid{12, 1});
  expect_contains(msg, {"the 12 DRAM banks", "memory_config.shard_spec.grid = 13x1", "use a grid within 12x1"});
}

TEST(CheckSharding, ShardShapeMustBePositive) {
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 1}, 0, 64));
  expect_contains(msg, {"shard height 0 must be positive", "memory_config.shard_spec.shape[0] = 0"});
}

TEST(CheckSharding, TileShardWidth) {
  auto msg = check_error({1, 1, 64, 256}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {2, 1}, 32, 80));
  expect_contains(msg, {"qkv_matmul output", "shard width 80 is not a multiple of the tile width 32",
                        "memory_config.shard_spec.shape[1] = 80", "use 64 or 96"});
}

TEST(CheckSharding, TileShardHeight) {
  auto msg = check_error({256, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 1}, 16, 64));
  expect_contains(msg, {"shard height 16 is not a multiple of the tile height 32",
                        "memory_config.shard_spec.shape[0] = 16", "use 32"});
}

TEST(CheckSharding, HeightShardedSpansWidth) {
  auto msg = check_error({256, 128}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 1}, 32, 64));
  expect_contains(msg, {"HEIGHT_SHARDED", "shard width 64 != tensor width 128",
                        "memory_config.shard_spec.shape[1] = 64",
                        "use 128"});
}

TEST(CheckSharding, HeightShardedTooManyShards) {
  auto msg = check_error({1, 1280, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 4}, 32, 64));
  expect_contains(msg, {"needs 40 shards along height but the grid 8x4 has 32 cores",
                        "memory_config.shard_spec.shape[0] = 32", "use shard height >= 64",
                        "a grid with >= 40 cores"});
}

TEST(CheckSharding, HeightShardedBeyondAnyGridSuggestsOnlyShardSize) {
  auto msg = check_error({3200, 64}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 8}, 32, 64));
  expect_contains(msg, {"needs 100 shards along height", "use shard height >= 64"});
  EXPECT_EQ(msg.find("a grid with"), std::string::npos) << msg;
}

TEST(CheckSharding, WidthShardedSpansHeight) {
  auto msg = check_error({64, 1024}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::WIDTH_SHARDED, {8, 1}, 32, 128));
  expect_contains(msg, {"WIDTH_SHARDED", "shard height 32 != tensor height 64",
                        "memory_config.shard_spec.shape[0] = 32",
                        "use 64"});
}

TEST(CheckSharding, WidthShardedTooManyShards) {
  auto msg = check_error({32, 4096}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::WIDTH_SHARDED, {8, 8}, 32, 32));
  expect_contains(msg, {"needs 128 shards along width but the grid 8x8 has 64 cores",
                        "memory_config.shard_spec.shape[1] = 32", "use shard width >= 64"});
}

TEST(CheckSharding, BlockShardedRowsOfGrid) {
  auto msg = check_error({256, 256}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::BLOCK_SHARDED, {8, 4}, 32, 32));
  expect_contains(msg, {"needs 8 shards along height but the grid 8x4 has 4 rows (ROW_MAJOR orientation)",
                        "memory_config.shard_spec.shape[0] = 32", "use shard height >= 64",
                        "a grid with >= 8 rows"});
}

TEST(CheckSharding, BlockShardedColumnsOfGrid) {
  auto msg = check_error({64, 512}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::BLOCK_SHARDED, {4, 2}, 32, 32));
  expect_contains(msg, {"needs 16 shards along width but the grid 4x2 has 4 columns (ROW_MAJOR orientation)",
                        "memory_config.shard_spec.shape[1] = 32", "use shard width >= 128"});
  // No 8x8 grid has 16 columns: only a larger shard helps.
  EXPECT_EQ(msg.find("a grid with"), std::string::npos) << msg;
}

TEST(CheckSharding, BlockShardedColMajorSwapsGridAxes) {
  // 2 shards along height, 8 along width, on a 2x8 grid.
  const Shape shape{64, 256};
  auto col = sharded(TensorMemoryLayout::BLOCK_SHARDED, {2, 8}, 32, 32, ShardOrientation::COL_MAJOR);
  const ShardLayout sl = check_sharding(shape, DataType::BFLOAT16, Layout::TILE, col, kWormholeGrid, "x");
  EXPECT_EQ(sl.shards_h, 2);
  EXPECT_EQ(sl.shards_w, 8);
  EXPECT_EQ(sl.cores_used, 16);

  auto row = sharded(TensorMemoryLayout::BLOCK_SHARDED, {2, 8}, 32, 32, ShardOrientation::ROW_MAJOR);
  auto msg = check_error(shape, DataType::BFLOAT16, Layout::TILE, row);
  expect_contains(msg, {"needs 8 shards along width but the grid 2x8 has 2 columns (ROW_MAJOR orientation)",
                        "a grid with >= 8 columns"});

  // And COL_MAJOR limits height by the grid's columns.
  auto col_tall = sharded(TensorMemoryLayout::BLOCK_SHARDED, {2, 8}, 32, 32, ShardOrientation::COL_MAJOR);
  msg = check_error({128, 64}, DataType::BFLOAT16, Layout::TILE, col_tall);
  expect_contains(msg, {"needs 4 shards along height but the grid 2x8 has 2 columns (COL_MAJOR orientation)"});
}

TEST(CheckSharding, UsesPaddedShape) {
  // [1, 30, 100] in TILE is stored as [1, 32, 128].
  auto msg = check_error({1, 30, 100}, DataType::BFLOAT16, Layout::TILE,
                         sharded(TensorMemoryLayout::HEIGHT_SHARDED, {1, 1}, 32, 96));
  expect_contains(msg, {"tensor width 128 (padded shape [1, 32, 128])", "use 128"});

  const ShardLayout sl = check_sharding({1, 30, 100}, DataType::BFLOAT16, Layout::TILE,
                                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {1, 1}, 32, 128), kWormholeGrid,
                                        "x");
  EXPECT_EQ(sl.shards_h, 1);
  EXPECT_EQ(sl.cores_used, 1);
  EXPECT_EQ(sl.shard_bytes, 4 * 2048);
}

// ---- valid configs ----

TEST(CheckSharding, ValidHeightSharded) {
  const ShardLayout sl = check_sharding({1, 1, 1024, 2048}, DataType::BFLOAT16, Layout::TILE,
                                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 4}, 32, 2048), kWormholeGrid,
                                        "x");
  EXPECT_EQ(sl.shards_h, 32);
  EXPECT_EQ(sl.shards_w, 1);
  EXPECT_EQ(sl.cores_used, 32);
  EXPECT_EQ(sl.shard_bytes, 1 * 64 * 2048);
}

TEST(CheckSharding, ValidHeightShardedWithPartialLastShard) {
  // 1000 rows pad to 1024; shards of 96 rows: 11 shards, the last one partial.
  const ShardLayout sl = check_sharding({1, 1000, 64}, DataType::BFLOAT16, Layout::TILE,
                                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {4, 3}, 96, 64), kWormholeGrid,
                                        "x");
  EXPECT_EQ(sl.shards_h, 11);
  EXPECT_EQ(sl.cores_used, 11);
  EXPECT_EQ(sl.shard_bytes, 3 * 2 * 2048);
}

TEST(CheckSharding, ValidWidthShardedBlockFloat) {
  const ShardLayout sl = check_sharding({1, 32, 4096}, DataType::BFLOAT8_B, Layout::TILE,
                                        sharded(TensorMemoryLayout::WIDTH_SHARDED, {8, 8}, 32, 64), kWormholeGrid,
                                        "x");
  EXPECT_EQ(sl.shards_h, 1);
  EXPECT_EQ(sl.shards_w, 64);
  EXPECT_EQ(sl.cores_used, 64);
  EXPECT_EQ(sl.shard_bytes, 2 * 1088);
}

TEST(CheckSharding, ValidBlockSharded) {
  ShardLayout sl = check_sharding({1, 1, 256, 1024}, DataType::BFLOAT16, Layout::TILE,
                                  sharded(TensorMemoryLayout::BLOCK_SHARDED, {8, 8}, 32, 128), kWormholeGrid, "x");
  EXPECT_EQ(sl.shards_h, 8);
  EXPECT_EQ(sl.shards_w, 8);
  EXPECT_EQ(sl.cores_used, 64);
  EXPECT_EQ(sl.shard_bytes, 4 * 2048);

  // Fewer shards than the grid has cores is fine.
  sl = check_sharding({128, 512}, DataType::BFLOAT4_B, Layout::TILE,
                      sharded(TensorMemoryLayout::BLOCK_SHARDED, {8, 8}, 64, 128), kWormholeGrid, "x");
  EXPECT_EQ(sl.shards_h, 2);
  EXPECT_EQ(sl.shards_w, 4);
  EXPECT_EQ(sl.cores_used, 8);
  EXPECT_EQ(sl.shard_bytes, 2 * 4 * 576);
}

TEST(CheckSharding, ValidRowMajorShards) {
  // ROW_MAJOR layout: no tile alignment, shard bytes are elements times element size.
  const ShardLayout sl = check_sharding({64, 100}, DataType::FLOAT32, Layout::ROW_MAJOR,
                                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {4, 1}, 16, 100), kWormholeGrid,
                                        "x");
  EXPECT_EQ(sl.shards_h, 4);
  EXPECT_EQ(sl.cores_used, 4);
  EXPECT_EQ(sl.shard_bytes, 16 * 100 * 4);
}

TEST(CheckSharding, ValidDramWidthSharded) {
  auto mem = sharded(TensorMemoryLayout::WIDTH_SHARDED, {12, 1}, 32, 128, ShardOrientation::ROW_MAJOR,
                     BufferType::DRAM);
  const ShardLayout sl = check_sharding({32, 1536}, DataType::BFLOAT16, Layout::TILE, mem, CoreGrid{12, 1}, "x");
  EXPECT_EQ(sl.shards_w, 12);
  EXPECT_EQ(sl.cores_used, 12);
  EXPECT_EQ(sl.shard_bytes, 4 * 2048);
}

TEST(CheckSharding, InterleavedIsNotCut) {
  const ShardLayout sl = check_sharding({256, 256}, DataType::BFLOAT16, Layout::TILE, kDramInterleaved,
                                        kWormholeGrid, "x");
  EXPECT_EQ(sl.shards_h, 1);
  EXPECT_EQ(sl.shards_w, 1);
  EXPECT_EQ(sl.cores_used, 0);
  EXPECT_EQ(sl.shard_bytes, 0);
}

}  // namespace
}  // namespace ttt
