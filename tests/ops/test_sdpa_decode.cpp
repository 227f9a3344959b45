// Decode SDPA against a double-precision reference: users at different positions, GQA
// ratios 1/4/8, chunk sizes that do not divide the context, every ISA level; rows past a
// user's position are never read; prefill of N tokens then one decode step equals prefill
// of N + 1 at the last position (cpu and ttnn); each validation error once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ops/kv_cache/kv_cache.hpp"
#include "ops/op_test_util.hpp"
#include "ops/sdpa/sdpa.hpp"
#include "ops/sdpa_decode/sdpa_decode.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

struct Problem {
  int64_t b = 3, nh = 8, nkv = 2, max_seq = 128, hd = 64;
  std::vector<int32_t> pos = {0, 17, 99};
};

// out[u, h, :] = softmax_j(scale q . k_j) v_j over cache rows j <= pos[u].
std::vector<double> reference(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                              const std::vector<double>& v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(p.hd));
  const int64_t g = p.nh / p.nkv;
  std::vector<double> out(static_cast<std::size_t>(p.b * p.nh * p.hd));
  for (int64_t u = 0; u < p.b; ++u)
    for (int64_t h = 0; h < p.nh; ++h) {
      const double* qi = q.data() + (u * p.nh + h) * p.hd;
      const int64_t m = u * p.nkv + h / g, last = p.pos[static_cast<std::size_t>(u)];
      std::vector<double> w(static_cast<std::size_t>(last + 1));
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j <= last; ++j) {
        double d = 0;
        for (int64_t c = 0; c < p.hd; ++c) d += qi[c] * k[(m * p.max_seq + j) * p.hd + c];
        w[j] = d * scale;
        mx = std::max(mx, w[j]);
      }
      double sum = 0;
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j <= last; ++j)
        for (int64_t c = 0; c < p.hd; ++c)
          out[(u * p.nh + h) * p.hd + c] += w[j] / sum * v[(m * p.max_seq + j) * p.hd + c];
    }
  return out;
}

OpConfig config_for(const std::string& device, int k_chunk, MathFidelity f = MathFidelity::HiFi4, bool fp32 = true) {
  OpConfig c;
  c.op_name = "attention_decode";
  const bool ttnn = device != "cpu";
  c.dtype = ttnn ? DataType::BFLOAT16 : DataType::FLOAT32;
  c.layout = ttnn ? Layout::TILE : Layout::ROW_MAJOR;
  if (k_chunk > 0) c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, k_chunk, false};
  c.compute_kernel_config.math_fidelity = f;
  c.compute_kernel_config.fp32_dest_acc_en = fp32;
  return c;
}

struct Result {
  double pcc = 0, max_err = 0;
  std::vector<float> out;
  bool padding_zero = true;  // TILE outputs: the padded columns and rows hold zero
};

using test::padding_is_zero;

// nan_past_position: cache rows after each user's position hold NaN (they must never be read).
Result run_case(const Problem& p, const std::string& device_name, DataType qdt, DataType kvdt, Layout layout,
                const OpConfig& config, bool nan_past_position = false) {
  auto dev = Device::open(device_name);
  const Shape qs{1, p.b, p.nh, p.hd}, cs{p.b, p.nkv, p.max_seq, p.hd};
  const auto qv = test::random_values(static_cast<std::size_t>(qs.volume()), 11, -2.f, 2.f);
  auto kv = test::random_values(static_cast<std::size_t>(cs.volume()), 12, -2.f, 2.f);
  auto vv = test::random_values(static_cast<std::size_t>(cs.volume()), 13);
  if (nan_past_position) {
    for (int64_t m = 0; m < p.b * p.nkv; ++m)
      for (int64_t r = p.pos[static_cast<std::size_t>(m / p.nkv)] + 1; r < p.max_seq; ++r)
        for (int64_t c = 0; c < p.hd; ++c)
          kv[(m * p.max_seq + r) * p.hd + c] = vv[(m * p.max_seq + r) * p.hd + c] = std::nanf("");
  }
  SdpaDecodeArgs args{TensorSpec{"q", qs, qdt, layout, {}}, TensorSpec{"k_cache", cs, kvdt, Layout::TILE, {}},
                      TensorSpec{"v_cache", cs, kvdt, Layout::TILE, {}}, std::nullopt, 0};
  if (!is_block_float(kvdt) && device_name == "cpu") args.k_cache.layout = args.v_cache.layout = layout;
  SdpaDecodeOp::validate(args, config, dev->spec());
  Tensor q = test::make_tensor(qv, qs, qdt, layout, "q");
  Tensor k = test::make_tensor(kv, cs, kvdt, args.k_cache.layout, "k_cache");
  Tensor v = test::make_tensor(vv, cs, kvdt, args.v_cache.layout, "v_cache");
  Tensor out = Tensor::empty(SdpaDecodeOp::output_spec(args, config));
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  SdpaDecodeOp::run(args, q, k, v, p.pos, out, config, ctx);
  const auto ref = reference(p, test::quantized(qv, qs, qdt, layout), test::quantized(kv, cs, kvdt, args.k_cache.layout),
                             test::quantized(vv, cs, kvdt, args.v_cache.layout));
  Result r;
  r.out = to_float(out);
  if (out.layout() == Layout::TILE) r.padding_zero = padding_is_zero(out);
  r.pcc = test::pcc(std::span<const float>(r.out), std::span<const double>(ref));
  r.max_err = test::max_abs_diff(r.out, ref);
  return r;
}

TEST(SdpaDecode, CpuUsersAtDifferentPositionsAcrossRatiosAndChunks) {
  for (int64_t hd : {8, 64})
    for (int64_t ratio : {1, 4, 8})
      for (int kc : {32, 48, 0}) {
        Problem p;
        p.hd = hd, p.nkv = 2, p.nh = 2 * ratio;
        SCOPED_TRACE(testing::Message() << "hd " << hd << " ratio " << ratio << " k_chunk " << kc);
        const Result r = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, config_for("cpu", kc));
        EXPECT_GE(r.pcc, 0.99999);
        EXPECT_LE(r.max_err, 2e-5);
      }
}

TEST(SdpaDecode, NeverReadsCacheRowsPastThePosition) {
  Problem p;
  const Result cpu = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, config_for("cpu", 48), true);
  for (float x : cpu.out) ASSERT_TRUE(std::isfinite(x));
  EXPECT_LE(cpu.max_err, 2e-5);
  const Result dev = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                              config_for("ttnn:n150", 32), true);
  for (float x : dev.out) ASSERT_TRUE(std::isfinite(x));
  EXPECT_GE(dev.pcc, 0.999);
}

TEST(SdpaDecode, EveryIsaLevelGivesTheSameAnswer) {
  Problem p;
  p.hd = 40, p.nh = 8, p.nkv = 1;
  std::vector<std::vector<float>> outs;
  for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512}) {
    if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
    set_isa_limit(level);
    const Result r = run_case(p, "cpu", DataType::FLOAT32, DataType::BFLOAT16, Layout::ROW_MAJOR, config_for("cpu", 40));
    EXPECT_LE(r.max_err, 2e-5) << to_string(level);
    outs.push_back(r.out);
  }
  set_isa_limit(IsaLevel::AVX512_BF16);
  for (std::size_t i = 1; i < outs.size(); ++i)
    for (std::size_t x = 0; x < outs[0].size(); ++x) ASSERT_NEAR(outs[i][x], outs[0][x], 1e-5);
}

TEST(SdpaDecode, TtnnBf16AndBfp8Caches) {
  for (int64_t ratio : {1, 4, 8}) {
    Problem p;
    p.nkv = ratio == 8 ? 1 : 2, p.nh = p.nkv * ratio;
    SCOPED_TRACE(testing::Message() << "ratio " << ratio);
    const Result bf16 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                 config_for("ttnn:n150", 64, MathFidelity::HiFi4, true));
    EXPECT_GE(bf16.pcc, 0.999);
    EXPECT_LE(bf16.max_err, 3e-2);
    const Result bfp8 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE,
                                 config_for("ttnn:n150", 32, MathFidelity::HiFi2, false));
    EXPECT_GE(bfp8.pcc, 0.99);
  }
}

// Head dims below a tile multiple (the bundled tiny models: head_dim 8, 8 heads, 4 kv heads)
// run on a device with the tile padding, bf16 and bfp8 caches alike, to the tolerances of
// head_dim 64.
TEST(SdpaDecode, TtnnRunsHeadDimsBelowATileMultiple) {
  for (int64_t hd : {8, 16})
    for (int64_t ratio : {1, 2, 8}) {
      Problem p;
      p.hd = hd, p.nh = 8, p.nkv = 8 / ratio;
      SCOPED_TRACE(testing::Message() << "hd " << hd << " ratio " << ratio);
      const Result bf16 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                   config_for("ttnn:n150", 64, MathFidelity::HiFi4, true));
      EXPECT_GE(bf16.pcc, 0.999);
      EXPECT_LE(bf16.max_err, 3e-2);
      EXPECT_TRUE(bf16.padding_zero);
      const Result bfp8 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE,
                                   config_for("ttnn:n150", 32, MathFidelity::HiFi2, false));
      EXPECT_GE(bfp8.pcc, 0.99);
      EXPECT_TRUE(bfp8.padding_zero);
    }
  // The cost counts whole tiles of the head dim: 8 costs what 32 does.
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  auto cost = [&](int64_t hd) {
    const SdpaDecodeArgs a{TensorSpec{"q", Shape{1, 32, 8, hd}, DataType::BFLOAT16, Layout::TILE, {}},
                           TensorSpec{"k", Shape{32, 4, 512, hd}, DataType::BFLOAT8_B, Layout::TILE, {}},
                           TensorSpec{"v", Shape{32, 4, 512, hd}, DataType::BFLOAT8_B, Layout::TILE, {}}, std::nullopt,
                           300};
    return SdpaDecodeOp::cost(a, config_for("ttnn:n150", 64), n150);
  };
  EXPECT_EQ(cost(8).dram_s, cost(32).dram_s);
  EXPECT_EQ(cost(8).compute_s, cost(32).compute_s);
}

// Prefill of N tokens filling the cache, one decode step at position N, equals prefill of
// N + 1 tokens read at its last row.
void prefill_then_decode(const std::string& device_name, DataType dt, Layout layout, double tol, int64_t hd = 64) {
  SCOPED_TRACE(testing::Message() << device_name << " hd " << hd);
  auto dev = Device::open(device_name);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const bool ttnn = device_name != "cpu";
  const int64_t n = 37, nh = 8, nkv = 2, max_seq = 128;
  const Shape qs{1, nh, n + 1, hd}, ks{1, nkv, n + 1, hd};
  const auto qv = test::random_values(static_cast<std::size_t>(qs.volume()), 21, -2.f, 2.f);
  const auto kv = test::random_values(static_cast<std::size_t>(ks.volume()), 22, -2.f, 2.f);
  const auto vv = test::random_values(static_cast<std::size_t>(ks.volume()), 23);
  OpConfig cfg;
  cfg.dtype = dt, cfg.layout = layout;
  cfg.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 32, false};
  cfg.compute_kernel_config.math_fidelity = MathFidelity::HiFi4;
  cfg.compute_kernel_config.fp32_dest_acc_en = true;

  // Prefill of all n + 1 tokens.
  SdpaArgs pre{TensorSpec{"q", qs, dt, layout, {}}, TensorSpec{"k", ks, dt, layout, {}}, TensorSpec{"v", ks, dt, layout, {}},
               true, std::nullopt};
  SdpaOp::validate(pre, cfg, dev->spec());
  Tensor out_full = Tensor::empty(SdpaOp::output_spec(pre, cfg));
  SdpaOp::run(pre, test::make_tensor(qv, qs, dt, layout), test::make_tensor(kv, ks, dt, layout),
              test::make_tensor(vv, ks, dt, layout), out_full, cfg, ctx);
  const auto full = to_float(out_full);

  // The first n tokens fill the cache; token n is written by update_cache; decode reads it.
  auto slice = [&](const std::vector<float>& x, int64_t heads, int64_t from, int64_t count) {
    std::vector<float> r;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = from; t < from + count; ++t)
        r.insert(r.end(), x.begin() + (h * (n + 1) + t) * hd, x.begin() + (h * (n + 1) + t + 1) * hd);
    return r;
  };
  const TensorSpec cache_spec{"cache", Shape{1, nkv, max_seq, hd}, dt, ttnn ? Layout::TILE : layout, {}};
  OpConfig cache_cfg = cfg;
  cache_cfg.layout = cache_spec.layout;
  Tensor caches[2] = {Tensor::empty(cache_spec), Tensor::empty(cache_spec)};
  const std::vector<float>* src[2] = {&kv, &vv};
  const std::vector<int32_t> pos = {static_cast<int32_t>(n)};
  for (int i = 0; i < 2; ++i) {
    FillCacheArgs fill{cache_spec, TensorSpec{"prompt", Shape{1, nkv, n, hd}, dt, layout, {}}};
    FillCacheOp::validate(fill, cache_cfg, dev->spec());
    FillCacheOp::run(fill, test::make_tensor(slice(*src[i], nkv, 0, n), fill.input.shape, dt, layout), 0, 0, caches[i],
                     cache_cfg, ctx);
    UpdateCacheArgs upd{cache_spec, TensorSpec{"token", Shape{1, 1, nkv, hd}, dt, layout, {}}};
    UpdateCacheOp::validate(upd, cache_cfg, dev->spec());
    UpdateCacheOp::run(upd, test::make_tensor(slice(*src[i], nkv, n, 1), upd.input.shape, dt, layout), pos, caches[i],
                       cache_cfg, ctx);
  }
  SdpaDecodeArgs dec{TensorSpec{"q", Shape{1, 1, nh, hd}, dt, layout, {}}, cache_spec, cache_spec, std::nullopt, 0};
  SdpaDecodeOp::validate(dec, cfg, dev->spec());
  Tensor out = Tensor::empty(SdpaDecodeOp::output_spec(dec, cfg));
  SdpaDecodeOp::run(dec, test::make_tensor(slice(qv, nh, n, 1), dec.q.shape, dt, layout), caches[0], caches[1], pos,
                    out, cfg, ctx);
  const auto step = to_float(out);
  const auto last = slice(full, nh, n, 1);
  double err = 0;
  for (std::size_t i = 0; i < step.size(); ++i) err = std::max(err, std::abs(static_cast<double>(step[i]) - last[i]));
  EXPECT_LE(err, tol) << device_name;
}

TEST(SdpaDecode, PrefillThenDecodeEqualsLongerPrefill) {
  prefill_then_decode("cpu", DataType::FLOAT32, Layout::ROW_MAJOR, 2e-6);
  prefill_then_decode("ttnn:n150", DataType::BFLOAT16, Layout::TILE, 1e-2);
  // The tiny models' head_dim: fill, update, prefill and decode all in the tile padding.
  prefill_then_decode("ttnn:n150", DataType::BFLOAT16, Layout::TILE, 1e-2, 8);
}

TEST(SdpaDecode, CostGrowsWithContextAndShrinksWithBfp8) {
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  SdpaDecodeArgs a{TensorSpec{"q", Shape{1, 32, 32, 128}, DataType::BFLOAT16, Layout::TILE, {}},
                   TensorSpec{"k", Shape{32, 8, 4096, 128}, DataType::BFLOAT16, Layout::TILE, {}},
                   TensorSpec{"v", Shape{32, 8, 4096, 128}, DataType::BFLOAT16, Layout::TILE, {}}, std::nullopt, 1024};
  const OpConfig c = config_for("ttnn:n150", 128);
  const Cost short_ctx = SdpaDecodeOp::cost(a, c, n150);
  a.context_len = 4096;
  const Cost long_ctx = SdpaDecodeOp::cost(a, c, n150);
  EXPECT_GT(long_ctx.dram_s, 3.5 * short_ctx.dram_s);
  a.k_cache.dtype = a.v_cache.dtype = DataType::BFLOAT8_B;
  EXPECT_LT(SdpaDecodeOp::cost(a, c, n150).dram_s, 0.6 * long_ctx.dram_s);
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

TEST(SdpaDecodeValidation, EachErrorNamesFieldValueAndFix) {
  const DeviceSpec cpu = Device::spec_for("cpu");
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const SdpaDecodeArgs base{TensorSpec{"q", Shape{1, 4, 8, 64}, DataType::BFLOAT16, Layout::TILE, {}},
                            TensorSpec{"k", Shape{4, 2, 256, 64}, DataType::BFLOAT8_B, Layout::TILE, {}},
                            TensorSpec{"v", Shape{4, 2, 256, 64}, DataType::BFLOAT8_B, Layout::TILE, {}}, std::nullopt, 0};
  struct Case {
    std::function<void(SdpaDecodeArgs&, OpConfig&)> edit;
    bool ttnn;
    ErrorKind kind;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {[](SdpaDecodeArgs& a, OpConfig&) { a.q.shape[0] = 2; }, false, ErrorKind::ShapeMismatch,
       "sdpa_decode: q has shape [2, 4, 8, 64]; decode takes one query per user"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.k_cache.shape[0] = a.v_cache.shape[0] = 3; }, false, ErrorKind::ShapeMismatch,
       "k_cache batch 3 (k_cache.shape[0]) differs from q's batch 4 (q.shape[1])"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.k_cache.shape[3] = a.v_cache.shape[3] = 32; }, false,
       ErrorKind::ShapeMismatch, "k_cache head_dim 32 (k_cache.shape[3]) differs from q head_dim 64"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.k_cache.shape[1] = a.v_cache.shape[1] = 3; }, false,
       ErrorKind::ShapeMismatch, "num_heads 8 (q.shape[2]) is not a multiple of num_kv_heads 3 (k_cache.shape[1])"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.v_cache.shape[2] = 128; }, false, ErrorKind::ShapeMismatch,
       "v_cache has shape [4, 2, 128, 64]; it must equal k_cache's shape"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 0, false}; }, false,
       ErrorKind::InvalidConfig, "k_chunk_size 0 (kernel_config.k_chunk_size) must be positive"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 96, false}; }, true,
       ErrorKind::InvalidConfig, "k_chunk_size 96 (kernel_config.k_chunk_size) must be a multiple of 32 that divides max_seq_len 256"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.q.dtype = DataType::BFLOAT8_B; }, true, ErrorKind::InvalidConfig,
       "q is BFLOAT8_B with 2 kv heads (q.dtype); grouped-query decode takes a BFLOAT16 q"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.k_cache.memory_config = kL1Interleaved; }, true, ErrorKind::InvalidConfig,
       "k_cache is L1 INTERLEAVED (k_cache.memory_config); the KV cache must be DRAM interleaved"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.v_cache.dtype = DataType::FLOAT32; }, true, ErrorKind::InvalidConfig,
       "sdpa_decode: v_cache dtype FLOAT32 is not supported; use one of BFLOAT16, BFLOAT8_B, BFLOAT4_B"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{2, 1}, 32, 32, false}; }, true,
       ErrorKind::InvalidConfig, "grid 2x1 has 2 cores for a batch of 4 (kernel_config.grid)"},
      {[](SdpaDecodeArgs&, OpConfig& c) {
         c.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                        ShardSpec{CoreGrid{4, 1}, {32, 64}, ShardOrientation::ROW_MAJOR}};
       },
       true, ErrorKind::InvalidConfig, "output is HEIGHT_SHARDED (memory_config); use INTERLEAVED"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.q.shape = Shape{4, 8, 64}; }, false, ErrorKind::ShapeMismatch,
       "sdpa_decode: q has shape [4, 8, 64] (rank 3); expected [1, batch, num_heads, head_dim]"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.scale = 0.f; }, false, ErrorKind::InvalidConfig,
       "sdpa_decode: scale 0 (scale) must be a positive finite number"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.kernel_config = NormConfig{}; }, false, ErrorKind::InvalidConfig,
       "sdpa_decode: kernel_config is norm; use sdpa (SdpaConfig), cpu or none"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.q.memory_config = kL1Interleaved; }, true, ErrorKind::InvalidConfig,
       "sdpa_decode: q is L1 INTERLEAVED (q.memory_config); use DRAM interleaved or HEIGHT_SHARDED"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.dtype = DataType::BFLOAT8_B; }, true, ErrorKind::InvalidConfig,
       "sdpa_decode: output dtype BFLOAT8_B (dtype) differs from q's dtype BFLOAT16"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.layout = Layout::ROW_MAJOR; }, true, ErrorKind::InvalidConfig,
       "sdpa_decode: output layout ROW_MAJOR (layout) differs from q's layout TILE"},
      {[](SdpaDecodeArgs& a, OpConfig&) { a.k_cache.layout = Layout::ROW_MAJOR; a.k_cache.dtype = DataType::BFLOAT16; }, true,
       ErrorKind::InvalidConfig, "sdpa_decode: k_cache is in ROW_MAJOR layout (k_cache.layout); the KV cache must be TILE"},
      {[](SdpaDecodeArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{9, 1}, 32, 32, false}; }, true,
       ErrorKind::InvalidConfig, "sdpa_decode: grid 9x1 (kernel_config.grid) does not fit the device's 8x8 compute grid"},
      {[](SdpaDecodeArgs& a, OpConfig& c) {
         a.k_cache.shape[2] = a.v_cache.shape[2] = 4096;
         a.k_cache.dtype = a.v_cache.dtype = DataType::BFLOAT16;
         c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 4096, false};
       },
       true, ErrorKind::OutOfMemory, "sdpa_decode: k_chunk_size 4096 needs"},
  };
  for (const Case& c : cases) {
    SdpaDecodeArgs a = base;
    OpConfig cfg = config_for(c.ttnn ? "ttnn:n150" : "cpu", 32);
    if (!c.ttnn) a.q.dtype = DataType::FLOAT32, a.q.layout = Layout::ROW_MAJOR;
    c.edit(a, cfg);
    expect_error([&] { SdpaDecodeOp::validate(a, cfg, c.ttnn ? n150 : cpu); }, c.kind, c.needle);
  }
  // Run-time checks of the positions.
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  SdpaDecodeArgs a = base;
  a.q.dtype = DataType::FLOAT32, a.q.layout = Layout::ROW_MAJOR;
  const OpConfig cfg = config_for("cpu", 32);
  Tensor q = Tensor::empty(a.q), k = Tensor::empty(a.k_cache), v = Tensor::empty(a.v_cache);
  Tensor out = Tensor::empty(SdpaDecodeOp::output_spec(a, cfg));
  const std::vector<int32_t> three = {1, 2, 3}, past = {1, 2, 256, 3};
  expect_error([&] { SdpaDecodeOp::run(a, q, k, v, three, out, cfg, ctx); }, ErrorKind::ShapeMismatch,
               "sdpa_decode: 3 positions given for a batch of 4 (positions)");
  expect_error([&] { SdpaDecodeOp::run(a, q, k, v, past, out, cfg, ctx); }, ErrorKind::InvalidConfig,
               "sdpa_decode: position 256 of user 2 is outside the cache (positions); positions must be in [0, 256)");
}

}  // namespace
}  // namespace ttt::ops
