// Memory configs: printing and TTNN's sharding rules.
//
// The rules follow ttnn/core/tensor/tensor_spec.cpp and tensor_layout.cpp: a sharded
// tensor is seen as a 2-D matrix [rows = product of all dims but the last, width = last
// dim] of its padded shape, and cut into equal shards (the last one along each axis may
// be partial).
#include "ttt/memory_config.hpp"

#include <string>

#include <fmt/format.h>

#include "ttt/error.hpp"

namespace ttt {

std::string CoreGrid::str() const { return fmt::format("{}x{}", x, y); }

namespace {

std::string shard_spec_str(const ShardSpec& s) {
  return fmt::format("grid {} shard [{}, {}] {}", s.grid.str(), s.shape[0], s.shape[1], to_string(s.orientation));
}

// "64 or 128" (the multiples of `m` around `v`), or "32" when rounding down gives 0.
std::string nearby_multiples(int64_t v, int64_t m) {
  const int64_t down = v / m * m;
  const int64_t up = round_up(v, m);
  if (down <= 0) return fmt::format("{}", up);
  return fmt::format("{} or {}", down, up);
}

// The smallest shard extent that cuts `extent` into at most `max_shards` pieces,
// tile-aligned when the layout asks for it.
int64_t min_shard_extent(int64_t extent, int64_t max_shards, Layout layout) {
  const int64_t v = ceil_div(extent, max_shards);
  return layout == Layout::TILE ? round_up(v, kTileSize) : v;
}

// "a grid with >= 40 cores" when the device has one that large, else "".
std::string grid_with(int64_t needed, int64_t device_max, const char* unit) {
  if (needed > device_max) return {};
  return fmt::format("a grid with >= {} {}", needed, unit);
}

// Everything a rule needs to describe the tensor and the config in its message.
struct Ctx {
  std::string_view what;
  const Shape& logical;
  const Shape& padded;
  Layout layout;
  const MemoryConfig& mem;

  // " (padded shape [1, 32, 128])" when padding changed the shape, else "".
  std::string padded_note() const {
    return padded == logical ? std::string{} : fmt::format(" (padded shape {})", padded.str());
  }
};

// One cut of the tensor along height (axis 0) or width (axis 1).
struct Axis {
  const char* noun;     // "height" / "width"
  int64_t extent;       // tensor rows or width
  int64_t shard;        // shard extent
  int index;            // index into shard_spec.shape
};

// `grid_fix` names a grid that would hold the shards, or is empty when the device has
// no such grid.
[[noreturn]] void too_many_shards(const Ctx& c, const Axis& a, int64_t shards, int64_t limit,
                                  const std::string& limit_desc, const std::string& grid_fix) {
  fail(ErrorKind::InvalidConfig,
       "{}: needs {} shards along {} but {} (memory_config.shard_spec.shape[{}] = {}, tensor {} {}{}); "
       "use shard {} >= {}{}{}",
       c.what, shards, a.noun, limit_desc, a.index, a.shard, a.noun, a.extent, c.padded_note(), a.noun,
       min_shard_extent(a.extent, limit, c.layout), grid_fix.empty() ? "" : " or ", grid_fix);
}

[[noreturn]] void shard_must_span(const Ctx& c, const Axis& a, const char* other_layouts) {
  fail(ErrorKind::InvalidConfig,
       "{}: {} shards span the whole tensor {}, but shard {} {} != tensor {} {}{} "
       "(memory_config.shard_spec.shape[{}] = {}); use {} or {}",
       c.what, to_string(c.mem.memory_layout), a.noun, a.noun, a.shard, a.noun, a.extent, c.padded_note(), a.index,
       a.shard, a.extent, other_layouts);
}

}  // namespace

std::string MemoryConfig::str() const {
  std::string out = fmt::format("{} {}", to_string(buffer_type), to_string(memory_layout));
  if (shard_spec) {
    out += ' ';
    out += shard_spec_str(*shard_spec);
  } else if (is_sharded()) {
    out += " (no shard spec)";
  }
  return out;
}

ShardLayout check_sharding(const Shape& logical, DataType dtype, Layout layout, const MemoryConfig& mem,
                           const CoreGrid& device_grid, std::string_view what) {
  if (is_block_float(dtype) && layout != Layout::TILE) {
    fail(ErrorKind::InvalidConfig, "{}: dtype {} exists only in TILE layout (layout = {}); use layout TILE or dtype "
         "BFLOAT16", what, to_string(dtype), to_string(layout));
  }

  if (!mem.is_sharded()) {
    if (mem.shard_spec) {
      fail(ErrorKind::InvalidConfig,
           "{}: an INTERLEAVED tensor takes no shard spec (memory_config.shard_spec = {}); remove the shard spec "
           "or use HEIGHT_SHARDED, WIDTH_SHARDED or BLOCK_SHARDED",
           what, shard_spec_str(*mem.shard_spec));
    }
    // Interleaved tensors are not cut into shards.
    return ShardLayout{.shards_h = 1, .shards_w = 1, .cores_used = 0, .shard_bytes = 0};
  }

  if (!mem.shard_spec) {
    fail(ErrorKind::InvalidConfig,
         "{}: {} needs a shard spec (memory_config.shard_spec = none); give one with grid, shape and orientation, "
         "or use INTERLEAVED",
         what, to_string(mem.memory_layout));
  }
  const ShardSpec& ss = *mem.shard_spec;
  const bool dram = mem.buffer_type == BufferType::DRAM;
  // DRAM sharding places one shard per DRAM bank: its "grid" is banks x 1.
  const std::string device_desc =
      dram ? fmt::format("the {} DRAM banks of the device (grid {})", device_grid.x, device_grid.str())
           : fmt::format("the device grid {}", device_grid.str());

  if (ss.grid.x < 1 || ss.grid.y < 1) {
    fail(ErrorKind::InvalidConfig, "{}: shard grid {} has no cores (memory_config.shard_spec.grid = {}); use a grid "
         "of at least 1x1 within {}", what, ss.grid.str(), ss.grid.str(), device_grid.str());
  }
  if (ss.grid.x > device_grid.x || ss.grid.y > device_grid.y) {
    fail(ErrorKind::InvalidConfig, "{}: shard grid {} does not fit in {} (memory_config.shard_spec.grid = {}); use "
         "a grid within {}", what, ss.grid.str(), device_desc, ss.grid.str(), device_grid.str());
  }

  const Shape padded = padded_shape(logical, layout);
  const Ctx ctx{what, logical, padded, layout, mem};
  const Axis h{"height", padded.rows(), ss.shape[0], 0};
  const Axis w{"width", padded.cols(), ss.shape[1], 1};

  for (const Axis& a : {h, w}) {
    if (a.shard <= 0) {
      fail(ErrorKind::InvalidConfig,
           "{}: shard {} {} must be positive (memory_config.shard_spec.shape[{}] = {}); use a {} between {} and "
           "the tensor {} {}",
           what, a.noun, a.shard, a.index, a.shard, a.noun, layout == Layout::TILE ? kTileSize : 1, a.noun,
           a.extent);
    }
  }
  if (layout == Layout::TILE) {
    for (const Axis& a : {h, w}) {
      if (a.shard % kTileSize != 0) {
        fail(ErrorKind::InvalidConfig,
             "{}: shard {} {} is not a multiple of the tile {} {} (memory_config.shard_spec.shape[{}] = {}); use {}",
             what, a.noun, a.shard, a.noun, kTileSize, a.index, a.shard, nearby_multiples(a.shard, kTileSize));
      }
    }
  }

  ShardLayout out;
  out.shards_h = ceil_div(h.extent, h.shard);
  out.shards_w = ceil_div(w.extent, w.shard);
  const int64_t cores = ss.grid.count();
  const bool col_major = ss.orientation == ShardOrientation::COL_MAJOR;

  switch (mem.memory_layout) {
    case TensorMemoryLayout::HEIGHT_SHARDED:
      if (w.shard != w.extent) shard_must_span(ctx, w, "WIDTH_SHARDED or BLOCK_SHARDED");
      if (out.shards_h > cores) {
        too_many_shards(ctx, h, out.shards_h, cores, fmt::format("the grid {} has {} cores", ss.grid.str(), cores),
                        grid_with(out.shards_h, device_grid.count(), "cores"));
      }
      out.cores_used = out.shards_h;
      break;
    case TensorMemoryLayout::WIDTH_SHARDED:
      if (h.shard != h.extent) shard_must_span(ctx, h, "HEIGHT_SHARDED or BLOCK_SHARDED");
      if (out.shards_w > cores) {
        too_many_shards(ctx, w, out.shards_w, cores, fmt::format("the grid {} has {} cores", ss.grid.str(), cores),
                        grid_with(out.shards_w, device_grid.count(), "cores"));
      }
      out.cores_used = out.shards_w;
      break;
    case TensorMemoryLayout::BLOCK_SHARDED: {
      // ROW_MAJOR: shard rows go down the grid (y), shard columns across it (x).
      // COL_MAJOR swaps the two.
      const int64_t rows_limit = col_major ? ss.grid.x : ss.grid.y;
      const int64_t cols_limit = col_major ? ss.grid.y : ss.grid.x;
      const char* rows_dim = col_major ? "columns" : "rows";
      const char* cols_dim = col_major ? "rows" : "columns";
      const std::string orient = fmt::format("{} orientation", to_string(ss.orientation));
      if (out.shards_h > rows_limit) {
        too_many_shards(ctx, h, out.shards_h, rows_limit,
                        fmt::format("the grid {} has {} {} ({})", ss.grid.str(), rows_limit, rows_dim, orient),
                        grid_with(out.shards_h, col_major ? device_grid.x : device_grid.y, rows_dim));
      }
      if (out.shards_w > cols_limit) {
        too_many_shards(ctx, w, out.shards_w, cols_limit,
                        fmt::format("the grid {} has {} {} ({})", ss.grid.str(), cols_limit, cols_dim, orient),
                        grid_with(out.shards_w, col_major ? device_grid.y : device_grid.x, cols_dim));
      }
      out.cores_used = out.shards_h * out.shards_w;
      break;
    }
    case TensorMemoryLayout::INTERLEAVED: break;  // handled above
  }

  out.shard_bytes = layout == Layout::TILE ? (h.shard / kTileSize) * (w.shard / kTileSize) * tile_bytes(dtype)
                                           : h.shard * w.shard * element_bytes(dtype);
  return out;
}

}  // namespace ttt
