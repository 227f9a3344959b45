// KV-cache update (decode) and fill (prefill) in every cache format: the written rows hold
// the input rounded to the cache format, every other byte is unchanged (for block floats:
// only the face rows of the written token are re-packed), the device's bf16 staging, and
// each validation error once.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ops/kv_cache/kv_cache.hpp"
#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/numerics/ttnn_numerics.hpp"
#include "ops/op_test_util.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

OpConfig cache_config(DataType dt, Layout layout) {
  OpConfig c;
  c.op_name = "kv_cache";
  c.dtype = dt;
  c.layout = layout;
  return c;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = t.data<const uint8_t>();
  return std::vector<uint8_t>(p, p + t.bytes());
}

using test::padding_is_zero;

// Byte offsets the rows (m, r) occupy in the tensor's storage.
std::set<int64_t> touched_bytes(const Tensor& t, const std::vector<std::pair<int64_t, int64_t>>& rows) {
  std::set<int64_t> out;
  const TensorRows tr(t);
  for (auto [m, r] : rows)
    tr.for_each_row_byte_range(m, r, [&](int64_t off, int64_t len) {
      for (int64_t i = 0; i < len; ++i) out.insert(off + i);
    });
  return out;
}

struct UpdateCase {
  std::string device;
  DataType cache_dt;
  Layout layout;
  DataType input_dt;
  int64_t hd;
  bool fp32_dest = false;
};

void check_update(const UpdateCase& c) {
  SCOPED_TRACE(testing::Message() << c.device << " " << to_string(c.cache_dt) << " " << to_string(c.layout) << " hd "
                                  << c.hd);
  auto dev = Device::open(c.device);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t b = 3, nkv = 2, max_seq = 64;
  const Shape cs{b, nkv, max_seq, c.hd}, is{1, b, nkv, c.hd};
  const auto old_values = test::random_values(static_cast<std::size_t>(cs.volume()), 5, -3.f, 3.f);
  // The token mixes magnitudes so the shared exponents change.
  auto token = test::random_values(static_cast<std::size_t>(is.volume()), 6, -40.f, 40.f);
  const TensorSpec cache_spec{"cache", cs, c.cache_dt, c.layout, {}};
  Tensor cache = test::make_tensor(old_values, cs, c.cache_dt, c.layout, "cache");
  const Layout in_layout = dev->spec().is_ttnn() ? Layout::TILE : Layout::ROW_MAJOR;
  Tensor input = test::make_tensor(token, is, c.input_dt, in_layout, "token");
  UpdateCacheArgs args{cache_spec, input.spec()};
  OpConfig cfg = cache_config(c.cache_dt, c.layout);
  cfg.compute_kernel_config.fp32_dest_acc_en = c.fp32_dest;
  UpdateCacheOp::validate(args, cfg, dev->spec());
  const auto before = bytes_of(cache);
  const std::vector<int32_t> pos = {5, 40, 63};
  UpdateCacheOp::run(args, input, pos, cache, cfg, ctx);
  const auto after = bytes_of(cache);

  // Expected rows: the input as the op sees it, staged through bf16 on a device without
  // fp32 Dest, then rounded to the cache format.
  const auto token_seen = to_float(input);
  std::vector<std::pair<int64_t, int64_t>> rows;
  const TensorRows cr(cache);
  std::vector<float> got_row(static_cast<std::size_t>(c.hd));
  for (int64_t u = 0; u < b; ++u)
    for (int64_t h = 0; h < nkv; ++h) {
      rows.emplace_back(u * nkv + h, pos[u]);
      std::vector<float> staged(token_seen.begin() + (u * nkv + h) * c.hd, token_seen.begin() + (u * nkv + h + 1) * c.hd);
      if (dev->spec().is_ttnn() && !c.fp32_dest)
        for (float& x : staged) x = numerics::round_bf16_ties_away(x);
      // A one-row tensor of the cache format holds exactly the values a cache row can.
      const auto q = test::quantized(staged, Shape{1, c.hd}, c.cache_dt, c.layout);
      const float* g = cr.read(u * nkv + h, pos[u], 1, got_row.data());
      for (int64_t x = 0; x < c.hd; ++x) ASSERT_EQ(g[x], static_cast<float>(q[x])) << "user " << u << " col " << x;
    }
  // Every byte outside the written rows' face rows is unchanged.
  const std::set<int64_t> touched = touched_bytes(cache, rows);
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!touched.count(static_cast<int64_t>(i))) {
      ASSERT_EQ(before[i], after[i]) << "byte " << i;
    }
  if (c.layout == Layout::TILE) {
    // A row touches its face rows only (block floats: one exponent byte and the codes of
    // each, a partial face row included), and the padding stays zero.
    const int64_t face_rows = (c.hd + kFaceSize - 1) / kFaceSize;
    const int64_t per_face_row =
        is_block_float(c.cache_dt) ? 1 + bfp_row_bytes(c.cache_dt) : kFaceSize * element_bytes(c.cache_dt);
    EXPECT_EQ(static_cast<int64_t>(touched.size()), static_cast<int64_t>(rows.size()) * face_rows * per_face_row);
    EXPECT_TRUE(padding_is_zero(cache));
  }
}

TEST(KvCache, UpdateWritesOneRowPerUserInEveryFormat) {
  check_update({"cpu", DataType::FLOAT32, Layout::ROW_MAJOR, DataType::FLOAT32, 8});
  check_update({"cpu", DataType::BFLOAT16, Layout::ROW_MAJOR, DataType::FLOAT32, 64});
  check_update({"cpu", DataType::BFLOAT16, Layout::TILE, DataType::FLOAT32, 40});
  check_update({"cpu", DataType::BFLOAT8_B, Layout::TILE, DataType::FLOAT32, 40});  // a partial face row
  check_update({"ttnn:n150", DataType::BFLOAT16, Layout::TILE, DataType::BFLOAT16, 64});
  check_update({"ttnn:n150", DataType::BFLOAT8_B, Layout::TILE, DataType::FLOAT32, 64});
  check_update({"ttnn:n150", DataType::BFLOAT8_B, Layout::TILE, DataType::FLOAT32, 64, true});
  check_update({"ttnn:n150", DataType::BFLOAT4_B, Layout::TILE, DataType::BFLOAT16, 64});
}

TEST(KvCache, Bfp8UpdateRepacksOnlyTheTouchedFaceRows) {
  auto dev = Device::open("ttnn:n150");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const Shape cs{2, 2, 64, 64};
  const TensorSpec spec{"cache", cs, DataType::BFLOAT8_B, Layout::TILE, {}};
  Tensor cache = test::make_tensor(test::random_values(static_cast<std::size_t>(cs.volume()), 31), cs,
                                   DataType::BFLOAT8_B, Layout::TILE);
  const auto token = test::random_values(2 * 2 * 64, 32, -100.f, 100.f);
  Tensor input = test::make_tensor(token, Shape{1, 2, 2, 64}, DataType::BFLOAT16, Layout::TILE);
  UpdateCacheArgs args{spec, input.spec()};
  const OpConfig cfg = cache_config(DataType::BFLOAT8_B, Layout::TILE);
  const auto before = bytes_of(cache);
  const std::vector<int32_t> pos = {5, 40};
  UpdateCacheOp::run(args, input, pos, cache, cfg, ctx);
  const auto after = bytes_of(cache);
  // Row 5 of a tile sits in faces 0/1, row 40 (row 8 of the second tile row) in faces 0/1
  // of the tiles below: per kv head two tiles x two face rows, one exponent byte and 16
  // mantissa bytes each.
  const auto seen = to_float(input);
  int64_t changed_rows = 0;
  for (int64_t u = 0; u < 2; ++u)
    for (int64_t h = 0; h < 2; ++h) {
      const int64_t m = u * 2 + h, r = pos[u], tile_row = r / 32, i = r % 32;
      for (int64_t tc = 0; tc < 2; ++tc) {
        const int64_t tile = (m * 2 + tile_row) * 2 + tc;
        for (int half = 0; half < 2; ++half) {
          const int face = static_cast<int>((i / 16) * 2 + half), fr = static_cast<int>(i % 16);
          uint8_t mant[16];
          const uint8_t e = encode_bfp_row(DataType::BFLOAT8_B, seen.data() + m * 64 + tc * 32 + half * 16, mant);
          const int64_t base = tile * tile_bytes(DataType::BFLOAT8_B);
          EXPECT_EQ(after[base + bfp_exponent_offset(face, fr)], e);
          EXPECT_EQ(0, std::memcmp(after.data() + base + bfp_mantissa_offset(DataType::BFLOAT8_B, face, fr), mant, 16));
          ++changed_rows;
        }
      }
    }
  EXPECT_EQ(changed_rows, 16);
  std::vector<std::pair<int64_t, int64_t>> rows = {{0, 5}, {1, 5}, {2, 40}, {3, 40}};
  const std::set<int64_t> touched = touched_bytes(cache, rows);
  EXPECT_EQ(touched.size(), 16u * 17u);
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!touched.count(static_cast<int64_t>(i))) {
      ASSERT_EQ(before[i], after[i]) << "byte " << i;
    }
}

void check_fill(const std::string& device, DataType dt, int64_t hd) {
  SCOPED_TRACE(testing::Message() << device << " " << to_string(dt) << " hd " << hd);
  auto dev = Device::open(device);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const bool ttnn = dev->spec().is_ttnn();
  const Layout layout = ttnn ? Layout::TILE : Layout::ROW_MAJOR;
  const Shape cs{3, 2, 128, hd}, is{2, 2, 45, hd};
  const TensorSpec spec{"cache", cs, dt, Layout::TILE, {}};
  Tensor cache = test::make_tensor(test::random_values(static_cast<std::size_t>(cs.volume()), 41), cs, dt, Layout::TILE);
  const auto prompt = test::random_values(static_cast<std::size_t>(is.volume()), 42);
  Tensor input = test::make_tensor(prompt, is, ttnn ? DataType::BFLOAT16 : DataType::FLOAT32, layout);
  FillCacheArgs args{spec, input.spec()};
  const OpConfig cfg = cache_config(dt, Layout::TILE);
  FillCacheOp::validate(args, cfg, dev->spec());
  const auto before = bytes_of(cache);
  const int64_t start = ttnn ? 32 : 5;
  FillCacheOp::run(args, input, 1, start, cache, cfg, ctx);
  const auto after = bytes_of(cache);
  const auto seen = to_float(input);
  std::vector<std::pair<int64_t, int64_t>> rows;
  const TensorRows cr(cache);
  std::vector<float> got(static_cast<std::size_t>(hd));
  for (int64_t u = 0; u < 2; ++u)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t t = 0; t < 45; ++t) {
        const int64_t m = (1 + u) * 2 + h;
        rows.emplace_back(m, start + t);
        const std::vector<float> row(seen.begin() + ((u * 2 + h) * 45 + t) * hd,
                                     seen.begin() + ((u * 2 + h) * 45 + t + 1) * hd);
        const auto q = test::quantized(row, Shape{1, hd}, dt, Layout::TILE);
        cr.read(m, start + t, 1, got.data());
        for (int64_t x = 0; x < hd; ++x) ASSERT_EQ(got[x], static_cast<float>(q[x])) << device;
      }
  const std::set<int64_t> touched = touched_bytes(cache, rows);
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!touched.count(static_cast<int64_t>(i))) {
      ASSERT_EQ(before[i], after[i]) << device << " byte " << i;
    }
  EXPECT_TRUE(padding_is_zero(cache));
}

TEST(KvCache, FillWritesARangeForOneUserOrARun) {
  check_fill("cpu", DataType::BFLOAT16, 64);
  check_fill("ttnn:n150", DataType::BFLOAT8_B, 64);
}

// Head dims below a tile multiple (the bundled tiny models use 8) run on a device with the
// tile padding: a token row re-packs only its own face rows (bfp8 included), whose padded
// values stay zero, and the cost counts whole tiles of the head dim.
TEST(KvCache, TtnnRunsHeadDimsBelowATileMultiple) {
  for (int64_t hd : {8, 16}) {
    check_update({"ttnn:n150", DataType::BFLOAT16, Layout::TILE, DataType::BFLOAT16, hd});
    check_update({"ttnn:n150", DataType::BFLOAT8_B, Layout::TILE, DataType::BFLOAT16, hd});
    check_update({"ttnn:n150", DataType::BFLOAT8_B, Layout::TILE, DataType::FLOAT32, hd, true});
    check_update({"ttnn:n150", DataType::BFLOAT4_B, Layout::TILE, DataType::BFLOAT16, hd});
    check_fill("ttnn:n150", DataType::BFLOAT16, hd);
    check_fill("ttnn:n150", DataType::BFLOAT8_B, hd);
  }
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const OpConfig cfg = cache_config(DataType::BFLOAT8_B, Layout::TILE);
  auto costs = [&](int64_t hd) {
    const TensorSpec cache{"cache", Shape{32, 4, 512, hd}, DataType::BFLOAT8_B, Layout::TILE, {}};
    const Cost upd = UpdateCacheOp::cost(
        {cache, TensorSpec{"token", Shape{1, 32, 4, hd}, DataType::BFLOAT16, Layout::TILE, {}}}, cfg, n150);
    const Cost fill = FillCacheOp::cost(
        {cache, TensorSpec{"prompt", Shape{1, 4, 100, hd}, DataType::BFLOAT16, Layout::TILE, {}}}, cfg, n150);
    return std::pair{upd.total_s(), fill.total_s()};
  };
  EXPECT_EQ(costs(8), costs(32));
}

TEST(KvCache, CostOfAnUpdateIsATileRowOnDeviceAndARowOnCpu) {
  UpdateCacheArgs a{TensorSpec{"cache", Shape{32, 8, 4096, 128}, DataType::BFLOAT8_B, Layout::TILE, {}},
                    TensorSpec{"token", Shape{1, 32, 8, 128}, DataType::BFLOAT16, Layout::TILE, {}}};
  const Cost dev = UpdateCacheOp::cost(a, cache_config(DataType::BFLOAT8_B, Layout::TILE), Device::spec_for("ttnn:n150"));
  EXPECT_GT(dev.total_s(), 0.0);
  a.cache.dtype = DataType::FLOAT32;
  const Cost cpu = UpdateCacheOp::cost(a, cache_config(DataType::FLOAT32, Layout::TILE), Device::spec_for("cpu"));
  EXPECT_GT(cpu.total_s(), 0.0);
}

// ---- validation -------------------------------------------------------------------------

void expect_error(const std::function<void()>& fn, ErrorKind kind, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(KvCacheValidation, EachErrorNamesFieldValueAndFix) {
  const DeviceSpec cpu = Device::spec_for("cpu");
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const UpdateCacheArgs upd{TensorSpec{"cache", Shape{4, 2, 128, 64}, DataType::BFLOAT8_B, Layout::TILE, {}},
                            TensorSpec{"token", Shape{1, 4, 2, 64}, DataType::BFLOAT16, Layout::TILE, {}}};
  const OpConfig cfg = cache_config(DataType::BFLOAT8_B, Layout::TILE);
  auto u = [&](auto&& edit, const DeviceSpec& d, OpConfig c) {
    UpdateCacheArgs a = upd;
    edit(a, c);
    UpdateCacheOp::validate(a, c, d);
  };
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.shape[1] = 3; }, cpu, cfg); }, ErrorKind::ShapeMismatch,
               "update_cache: input batch 3 (input.shape[1]) differs from the cache's 4 (cache.shape[0])");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.shape[2] = 1; }, cpu, cfg); }, ErrorKind::ShapeMismatch,
               "update_cache: input num_kv_heads 1 (input.shape[2]) differs from the cache's 2 (cache.shape[1])");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.shape[3] = 32; }, cpu, cfg); }, ErrorKind::ShapeMismatch,
               "update_cache: input head_dim 32 (input.shape[3]) differs from the cache's 64 (cache.shape[3])");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.shape[0] = 2; }, cpu, cfg); }, ErrorKind::ShapeMismatch,
               "decode writes one token per user, [1, batch, num_kv_heads, head_dim] (input.shape[0] = 1)");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.cache.shape = Shape{4, 2, 64}; }, cpu, cfg); },
               ErrorKind::ShapeMismatch, "update_cache: cache has shape [4, 2, 64] (rank 3)");
  expect_error([&] { u([](UpdateCacheArgs&, OpConfig& c) { c.dtype = DataType::BFLOAT16; }, cpu, cfg); },
               ErrorKind::InvalidConfig,
               "update_cache: the op config names BFLOAT16 TILE (dtype, layout) but the cache is BFLOAT8_B TILE");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig& c) { a.cache.dtype = c.dtype = DataType::INT32; }, cpu, cfg); },
               ErrorKind::InvalidConfig, "update_cache: cache dtype INT32 is not supported");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig& c) { a.cache.layout = c.layout = Layout::ROW_MAJOR; a.cache.dtype = c.dtype = DataType::BFLOAT16; }, n150, cfg); },
               ErrorKind::InvalidConfig, "update_cache: cache is in ROW_MAJOR layout (cache.layout); ttnn caches are TILE");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.dtype = DataType::BFLOAT8_B; }, n150, cfg); },
               ErrorKind::InvalidConfig, "update_cache: input dtype BFLOAT8_B is not supported; use one of FLOAT32, BFLOAT16");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.layout = Layout::ROW_MAJOR; }, n150, cfg); },
               ErrorKind::InvalidConfig, "update_cache: input is in ROW_MAJOR layout (input.layout); ttnn's update takes TILE");
  expect_error([&] {
    u([](UpdateCacheArgs& a, OpConfig&) {
      a.cache.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                           ShardSpec{CoreGrid{8, 8}, {128, 64}, ShardOrientation::ROW_MAJOR}};
    }, n150, cfg);
  },
               ErrorKind::InvalidConfig, "update_cache: cache is HEIGHT_SHARDED (cache.memory_config); ttnn updates INTERLEAVED caches only");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig& c) { a.cache.layout = c.layout = Layout::ROW_MAJOR; }, cpu, cfg); },
               ErrorKind::InvalidConfig, "update_cache: cache dtype BFLOAT8_B exists only in TILE layout, found ROW_MAJOR (cache.layout)");
  expect_error([&] { u([](UpdateCacheArgs& a, OpConfig&) { a.input.dtype = DataType::INT32; }, cpu, cfg); },
               ErrorKind::InvalidConfig, "update_cache: input dtype INT32 is not supported");

  const FillCacheArgs fill{upd.cache, TensorSpec{"prompt", Shape{2, 2, 100, 64}, DataType::BFLOAT16, Layout::TILE, {}}};
  auto f = [&](auto&& edit, const DeviceSpec& d) {
    FillCacheArgs a = fill;
    edit(a);
    FillCacheOp::validate(a, cfg, d);
  };
  expect_error([&] { f([](FillCacheArgs& a) { a.input.shape[0] = 5; }, cpu); }, ErrorKind::ShapeMismatch,
               "fill_cache: input holds 5 users (input.shape[0]) but the cache has 4 (cache.shape[0])");
  expect_error([&] { f([](FillCacheArgs& a) { a.input.shape[2] = 129; }, cpu); }, ErrorKind::ShapeMismatch,
               "fill_cache: input seq 129 (input.shape[2]) exceeds the cache's max_seq_len 128 (cache.shape[2])");
  expect_error([&] { f([](FillCacheArgs& a) { a.cache.dtype = DataType::BFLOAT4_B; }, n150); }, ErrorKind::InvalidConfig,
               "fill_cache: cache dtype BFLOAT4_B is not supported; use one of FLOAT32, BFLOAT16, BFLOAT8_B");
  expect_error([&] { f([](FillCacheArgs& a) { a.input.shape[1] = 4; }, cpu); }, ErrorKind::ShapeMismatch,
               "fill_cache: input num_kv_heads 4 (input.shape[1]) differs from the cache's 2 (cache.shape[1])");
  expect_error([&] { f([](FillCacheArgs& a) { a.input.shape = Shape{2, 100, 64}; }, cpu); }, ErrorKind::ShapeMismatch,
               "fill_cache: input has shape [2, 100, 64] (rank 3); expected [users, num_kv_heads, seq, head_dim]");
  expect_error([&] { f([](FillCacheArgs& a) { a.input.layout = Layout::ROW_MAJOR; }, n150); }, ErrorKind::InvalidConfig,
               "fill_cache: input is in ROW_MAJOR layout (input.layout); ttnn's fill takes TILE");
  expect_error([&] { f([](FillCacheArgs& a) { a.input.dtype = DataType::BFLOAT4_B; }, n150); }, ErrorKind::InvalidConfig,
               "fill_cache: input dtype BFLOAT4_B is not supported; use one of FLOAT32, BFLOAT16, BFLOAT8_B");

  // Run-time checks: positions and ranges.
  auto dev = Device::open("ttnn:n150");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  Tensor cache = Tensor::empty(upd.cache), token = Tensor::empty(upd.input), prompt = Tensor::empty(fill.input);
  const std::vector<int32_t> past = {0, 128, 1, 2}, short_list = {0, 1};
  expect_error([&] { UpdateCacheOp::run(upd, token, past, cache, cfg, ctx); }, ErrorKind::InvalidConfig,
               "update_cache: position 128 of user 1 is outside the cache (positions); positions must be in [0, 128)");
  expect_error([&] { UpdateCacheOp::run(upd, token, short_list, cache, cfg, ctx); }, ErrorKind::ShapeMismatch,
               "update_cache: 2 positions given for a batch of 4 (positions)");
  expect_error([&] { FillCacheOp::run(fill, prompt, 3, 0, cache, cfg, ctx); }, ErrorKind::InvalidConfig,
               "fill_cache: users [3, 5) (first_user + input.shape[0]) leave the cache's batch [0, 4)");
  expect_error([&] { FillCacheOp::run(fill, prompt, 0, 64, cache, cfg, ctx); }, ErrorKind::InvalidConfig,
               "fill_cache: rows [64, 164) (start + seq) leave the cache's [0, 128) (max_seq_len)");
  expect_error([&] { FillCacheOp::run(fill, prompt, 0, 5, cache, cfg, ctx); }, ErrorKind::InvalidConfig,
               "fill_cache: start 5 (start) is not a multiple of 32");
}

}  // namespace
}  // namespace ttt::ops
