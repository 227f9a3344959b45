#include "ops/kv_cache/kv_cache.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/sdpa/attention_common.hpp"

namespace ttt::ops {
namespace {

constexpr int kWorkspaceSlot = 7;
constexpr int64_t kRowBlock = 32;

void check_shape4(const char* op, const TensorSpec& t, const char* what, const char* layout) {
  TTT_CHECK(t.shape.rank() == 4, ShapeMismatch, "{}: {} has shape {} (rank {}); expected {}", op, what, t.shape.str(),
            t.shape.rank(), layout);
  for (int64_t d : t.shape)
    TTT_CHECK(d > 0, ShapeMismatch, "{}: {} has shape {} with an empty dimension; every extent must be positive", op,
              what, t.shape.str());
}

void check_cache(const char* op, const TensorSpec& cache, const OpConfig& config, const DeviceSpec& device,
                 std::initializer_list<DataType> device_dtypes) {
  check_shape4(op, cache, "cache", "[batch, num_kv_heads, max_seq_len, head_dim]");
  if (device.is_ttnn()) {
    check_dtype_in(op, "cache", cache.dtype, device_dtypes);
    TTT_CHECK(cache.layout == Layout::TILE, InvalidConfig, "{}: cache is in {} layout (cache.layout); ttnn caches are TILE",
              op, to_string(cache.layout));
    TTT_CHECK(!cache.memory_config.is_sharded(), InvalidConfig,
              "{}: cache is {} (cache.memory_config); ttnn updates INTERLEAVED caches only", op,
              to_string(cache.memory_config.memory_layout));
  } else {
    check_dtype_in(op, "cache", cache.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
  }
  TTT_CHECK(!is_block_float(cache.dtype) || cache.layout == Layout::TILE, InvalidConfig,
            "{}: cache dtype {} exists only in TILE layout, found {} (cache.layout)", op, to_string(cache.dtype),
            to_string(cache.layout));
  // The cache is allocated from this op's config, so the two must agree.
  TTT_CHECK(config.dtype == cache.dtype && config.layout == cache.layout, InvalidConfig,
            "{}: the op config names {} {} (dtype, layout) but the cache is {} {}; allocate the cache in the config's "
            "format",
            op, to_string(config.dtype), to_string(config.layout), to_string(cache.dtype), to_string(cache.layout));
}

void check_same(const char* op, const char* what, int64_t found, const char* found_field, int64_t expected,
                const char* expected_field) {
  TTT_CHECK(found == expected, ShapeMismatch, "{}: input {} {} ({}) differs from the cache's {} ({}); they must match",
            op, what, found, found_field, expected, expected_field);
}

}  // namespace

// ---- update_cache ----------------------------------------------------------------------

void UpdateCacheOp::validate(const UpdateCacheArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_cache(kName, a.cache, config, device,
              {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
  check_shape4(kName, a.input, "input", "[1, batch, num_kv_heads, head_dim]");
  TTT_CHECK(a.input.shape[0] == 1, ShapeMismatch,
            "update_cache: input has shape {}; decode writes one token per user, [1, batch, num_kv_heads, head_dim] "
            "(input.shape[0] = 1)",
            a.input.shape.str());
  check_same(kName, "batch", a.input.shape[1], "input.shape[1]", a.cache.shape[0], "cache.shape[0]");
  check_same(kName, "num_kv_heads", a.input.shape[2], "input.shape[2]", a.cache.shape[1], "cache.shape[1]");
  check_same(kName, "head_dim", a.input.shape[3], "input.shape[3]", a.cache.shape[3], "cache.shape[3]");
  if (!device.is_ttnn()) {
    check_dtype_in(kName, "input", a.input.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    return;
  }
  check_dtype_in(kName, "input", a.input.dtype, {DataType::FLOAT32, DataType::BFLOAT16});
  TTT_CHECK(a.input.layout == Layout::TILE, InvalidConfig,
            "update_cache: input is in {} layout (input.layout); ttnn's update takes TILE", to_string(a.input.layout));
  // Any head_dim: a row narrower than a tile multiple lives in the tile padding, and writing
  // it re-packs only its own face rows, whose padded values stay zero.
}

TensorSpec UpdateCacheOp::output_spec(const UpdateCacheArgs& a, const OpConfig&) { return a.cache; }

void UpdateCacheOp::run(const UpdateCacheArgs& a, const Tensor& input, std::span<const int32_t> positions,
                        Tensor& cache, const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  check_tensor_matches(kName, cache, a.cache);
  const int64_t b = a.cache.shape[0], nkv = a.cache.shape[1], max_seq = a.cache.shape[2], hd = a.cache.shape[3];
  TTT_CHECK(static_cast<int64_t>(positions.size()) == b, ShapeMismatch,
            "update_cache: {} positions given for a batch of {} (positions); pass one position per user",
            positions.size(), b);
  for (std::size_t u = 0; u < positions.size(); ++u) {
    TTT_CHECK(positions[u] >= 0 && positions[u] < max_seq, InvalidConfig,
              "update_cache: position {} of user {} is outside the cache (positions); positions must be in [0, {}) "
              "(max_seq_len)",
              positions[u], u, max_seq);
  }
  // On a device the token passes through Dest into a bf16 buffer (fp32 with
  // fp32_dest_acc_en) before the tile is packed again in the cache format.
  const attn::DeviceNumerics nm = attn::device_numerics(ctx.device.spec(), config);
  const bool round_to_bf16 = nm.emulate && !nm.fp32_dest;
  const TensorRows in(input), cr(cache);
  ctx.pool.parallel_for(
      b,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(2 * nkv * hd), kWorkspaceSlot);
        for (int64_t u = begin; u < end; ++u) {
          const float* src = in.read(u, 0, nkv, buf.data());
          if (round_to_bf16) {
            float* staged = buf.data() + nkv * hd;
            for (int64_t x = 0; x < nkv * hd; ++x) staged[x] = attn::pack_bf16(src[x], false);
            src = staged;
          }
          const int64_t pos = positions[static_cast<std::size_t>(u)];
          for (int64_t h = 0; h < nkv; ++h) cr.write(u * nkv + h, pos, 1, src + h * hd);
        }
      },
      attn::op_threads(config, ctx));
}

Cost UpdateCacheOp::cost(const UpdateCacheArgs& a, const OpConfig&, const DeviceSpec& device) {
  const int64_t b = a.cache.shape[0], nkv = a.cache.shape[1], hd = a.cache.shape[3];
  CostInputs in;
  attn::add_read(in, a.input.memory_config, stored_bytes(a.input));
  if (device.is_ttnn()) {
    // The device reads the tile row holding the token, rewrites one row, writes it back.
    const double tile_row = static_cast<double>(b * nkv * ceil_div(hd, kTileSize) * tile_bytes(a.cache.dtype));
    attn::add_read(in, a.cache.memory_config, tile_row);
    attn::add_write(in, a.cache.memory_config, tile_row);
    in.cores = static_cast<int>(std::min<int64_t>(b, device.grid.count()));
  } else {
    attn::add_write(in, a.cache.memory_config, static_cast<double>(b * nkv) * attn::row_bytes(a.cache.dtype, hd));
  }
  in.math_dtype = a.cache.dtype;
  return estimate_cost(in, device);
}

// ---- fill_cache ------------------------------------------------------------------------

void FillCacheOp::validate(const FillCacheArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_cache(kName, a.cache, config, device, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B});
  check_shape4(kName, a.input, "input", "[users, num_kv_heads, seq, head_dim]");
  TTT_CHECK(a.input.shape[0] <= a.cache.shape[0], ShapeMismatch,
            "fill_cache: input holds {} users (input.shape[0]) but the cache has {} (cache.shape[0])", a.input.shape[0],
            a.cache.shape[0]);
  check_same(kName, "num_kv_heads", a.input.shape[1], "input.shape[1]", a.cache.shape[1], "cache.shape[1]");
  check_same(kName, "head_dim", a.input.shape[3], "input.shape[3]", a.cache.shape[3], "cache.shape[3]");
  TTT_CHECK(a.input.shape[2] <= a.cache.shape[2], ShapeMismatch,
            "fill_cache: input seq {} (input.shape[2]) exceeds the cache's max_seq_len {} (cache.shape[2])",
            a.input.shape[2], a.cache.shape[2]);
  if (!device.is_ttnn()) {
    check_dtype_in(kName, "input", a.input.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    return;
  }
  check_dtype_in(kName, "input", a.input.dtype, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B});
  TTT_CHECK(a.input.layout == Layout::TILE, InvalidConfig,
            "fill_cache: input is in {} layout (input.layout); ttnn's fill takes TILE", to_string(a.input.layout));
}

TensorSpec FillCacheOp::output_spec(const FillCacheArgs& a, const OpConfig&) { return a.cache; }

void FillCacheOp::run(const FillCacheArgs& a, const Tensor& input, int64_t first_user, int64_t start, Tensor& cache,
                      const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  check_tensor_matches(kName, cache, a.cache);
  const int64_t users = a.input.shape[0], nkv = a.input.shape[1], seq = a.input.shape[2], hd = a.input.shape[3];
  const int64_t batch = a.cache.shape[0], max_seq = a.cache.shape[2];
  TTT_CHECK(first_user >= 0 && first_user + users <= batch, InvalidConfig,
            "fill_cache: users [{}, {}) (first_user + input.shape[0]) leave the cache's batch [0, {})", first_user,
            first_user + users, batch);
  TTT_CHECK(start >= 0 && start + seq <= max_seq, InvalidConfig,
            "fill_cache: rows [{}, {}) (start + seq) leave the cache's [0, {}) (max_seq_len)", start, start + seq,
            max_seq);
  TTT_CHECK(!ctx.device.spec().is_ttnn() || start % kTileSize == 0, InvalidConfig,
            "fill_cache: start {} (start) is not a multiple of 32; ttnn fills whole tile rows, so a prompt chunk must "
            "start on a tile boundary",
            start);
  const TensorRows in(input), cr(cache);
  const int64_t blocks_per_head = ceil_div(seq, kRowBlock);
  ctx.pool.parallel_for(
      users * nkv * blocks_per_head,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(kRowBlock * hd), kWorkspaceSlot);
        for (int64_t blk = begin; blk < end; ++blk) {
          const int64_t m = blk / blocks_per_head, r0 = (blk % blocks_per_head) * kRowBlock;
          const int64_t n = std::min(kRowBlock, seq - r0);
          const int64_t user = m / nkv, h = m % nkv;
          cr.write((first_user + user) * nkv + h, start + r0, n, in.read(m, r0, n, buf.data()));
        }
      },
      attn::op_threads(config, ctx));
}

Cost FillCacheOp::cost(const FillCacheArgs& a, const OpConfig&, const DeviceSpec& device) {
  const int64_t users = a.input.shape[0], nkv = a.input.shape[1], seq = a.input.shape[2];
  CostInputs in;
  attn::add_read(in, a.input.memory_config, stored_bytes(a.input));
  const int64_t rows = device.is_ttnn() ? round_up(seq, kTileSize) : seq;  // whole tiles on a device
  // A TILE cache row spans the head dim padded to whole tiles.
  attn::add_write(in, a.cache.memory_config,
                  static_cast<double>(users * nkv * rows) * attn::stored_row_bytes(a.cache));
  in.math_dtype = a.cache.dtype;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
