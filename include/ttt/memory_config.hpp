// Where a tensor lives on a device: DRAM or L1, interleaved page by page over the
// banks or sharded one shard per core. Mirrors ttnn.MemoryConfig.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ttt/dtype.hpp"
#include "ttt/enum.hpp"
#include "ttt/shape.hpp"

namespace ttt {

TTT_ENUM(TensorMemoryLayout, INTERLEAVED, HEIGHT_SHARDED, WIDTH_SHARDED, BLOCK_SHARDED)
TTT_ENUM(BufferType, DRAM, L1)
TTT_ENUM(ShardOrientation, ROW_MAJOR, COL_MAJOR)

// A grid of cores, x columns by y rows, starting at core (0, 0).
struct CoreGrid {
  int x = 1;
  int y = 1;
  int count() const { return x * y; }
  bool operator==(const CoreGrid&) const = default;
  std::string str() const;  // "8x8"
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("x", s.x);
    v("y", s.y);
  }
};

struct ShardSpec {
  CoreGrid grid;
  std::array<int64_t, 2> shape{0, 0};  // [height, width] of one shard, in elements
  ShardOrientation orientation = ShardOrientation::ROW_MAJOR;
  bool operator==(const ShardSpec&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("shape", s.shape);
    v("orientation", s.orientation);
  }
};

struct MemoryConfig {
  TensorMemoryLayout memory_layout = TensorMemoryLayout::INTERLEAVED;
  BufferType buffer_type = BufferType::DRAM;
  std::optional<ShardSpec> shard_spec;

  bool is_sharded() const { return memory_layout != TensorMemoryLayout::INTERLEAVED; }
  bool operator==(const MemoryConfig&) const = default;
  std::string str() const;  // "L1 HEIGHT_SHARDED grid 8x4 shard [32, 2048] ROW_MAJOR"

  // The field list that printing, hashing and YAML walk.
  template <typename Self, typename Visitor>
  static void visit_fields(Self& self, Visitor&& v) {
    v("memory_layout", self.memory_layout);
    v("buffer_type", self.buffer_type);
    v("shard_spec", self.shard_spec);
  }
};

inline const MemoryConfig kDramInterleaved{};
inline const MemoryConfig kL1Interleaved{TensorMemoryLayout::INTERLEAVED, BufferType::L1, std::nullopt};

// How a sharded tensor is cut: shards along height and width, and the cores used.
struct ShardLayout {
  int64_t shards_h = 1;  // number of shards along the tensor's height (rows of the 2-D view)
  int64_t shards_w = 1;  // number of shards along its width
  int64_t cores_used = 1;
  int64_t shard_bytes = 0;  // bytes one shard occupies in its core's L1 (or DRAM bank)
};

// Checks the sharding rules of TTNN (shard dims tile-aligned for TILE, shards cover
// the tensor, HEIGHT/WIDTH/BLOCK constraints, grid inside `device_grid`) and returns
// how the tensor is cut. Throws InvalidConfig naming the field, the value and what fits.
// An INTERLEAVED config (which must have no shard spec) is not cut: {1, 1, 0 cores, 0 bytes}.
ShardLayout check_sharding(const Shape& logical, DataType dtype, Layout layout, const MemoryConfig& mem,
                           const CoreGrid& device_grid, std::string_view what);

}  // namespace ttt
