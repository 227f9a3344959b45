// Prefill SDPA against a double-precision softmax attention: shapes that are not multiples
// of 32, batch > 1, GQA ratios 1/4/8, chunk sizes smaller than and not dividing the
// sequence, causal masks with offsets; every ISA level; the ttnn numerics model; each
// validation error once.
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
#include "ttt/cpu_features.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

struct Problem {
  int64_t b = 2, nh = 4, nkv = 2, s = 7, skv = 7, hd = 8;
  bool causal = true;
};

// out[b, h, i, :] = softmax_j(scale q_i . k_j) v_j over keys j <= i + (skv - s) when causal.
std::vector<double> reference(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                              const std::vector<double>& v, double scale) {
  std::vector<double> out(static_cast<std::size_t>(p.b * p.nh * p.s * p.hd));
  const int64_t g = p.nh / p.nkv, offset = p.skv - p.s;
  std::vector<double> w(static_cast<std::size_t>(p.skv));
  for (int64_t b = 0; b < p.b; ++b)
    for (int64_t h = 0; h < p.nh; ++h)
      for (int64_t i = 0; i < p.s; ++i) {
        const double* qi = q.data() + ((b * p.nh + h) * p.s + i) * p.hd;
        const int64_t kvm = b * p.nkv + h / g;
        const int64_t last = p.causal ? std::min(i + offset, p.skv - 1) : p.skv - 1;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j <= last; ++j) {
          const double* kj = k.data() + (kvm * p.skv + j) * p.hd;
          double d = 0;
          for (int64_t c = 0; c < p.hd; ++c) d += qi[c] * kj[c];
          w[j] = d * scale;
          mx = std::max(mx, w[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= last; ++j) sum += (w[j] = std::exp(w[j] - mx));
        double* o = out.data() + ((b * p.nh + h) * p.s + i) * p.hd;
        for (int64_t j = 0; j <= last; ++j) {
          const double* vj = v.data() + (kvm * p.skv + j) * p.hd;
          for (int64_t c = 0; c < p.hd; ++c) o[c] += w[j] / sum * vj[c];
        }
      }
  return out;
}

struct Result {
  double pcc = 0, max_err = 0;
  std::vector<float> out;
  bool padding_zero = true;  // TILE outputs: the padded columns and rows hold zero
};

using test::padding_is_zero;

Result run_case(const Problem& p, const std::string& device_name, DataType qdt, DataType kvdt, Layout layout,
                const OpConfig& config, uint64_t seed = 1) {
  auto dev = Device::open(device_name);
  const Shape qs{p.b, p.nh, p.s, p.hd}, ks{p.b, p.nkv, p.skv, p.hd};
  const auto qv = test::random_values(static_cast<std::size_t>(qs.volume()), seed, -2.f, 2.f);
  const auto kv = test::random_values(static_cast<std::size_t>(ks.volume()), seed + 1, -2.f, 2.f);
  const auto vv = test::random_values(static_cast<std::size_t>(ks.volume()), seed + 2);
  SdpaArgs args{TensorSpec{"q", qs, qdt, layout, {}}, TensorSpec{"k", ks, kvdt, layout, {}},
                TensorSpec{"v", ks, kvdt, layout, {}}, p.causal, std::nullopt};
  SdpaOp::validate(args, config, dev->spec());
  Tensor q = test::make_tensor(qv, qs, qdt, layout, "q");
  Tensor k = test::make_tensor(kv, ks, kvdt, layout, "k");
  Tensor v = test::make_tensor(vv, ks, kvdt, layout, "v");
  Tensor out = Tensor::empty(SdpaOp::output_spec(args, config));
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  SdpaOp::run(args, q, k, v, out, config, ctx);
  const auto ref = reference(p, test::quantized(qv, qs, qdt, layout), test::quantized(kv, ks, kvdt, layout),
                             test::quantized(vv, ks, kvdt, layout), 1.0 / std::sqrt(static_cast<double>(p.hd)));
  Result r;
  r.out = to_float(out);
  if (out.layout() == Layout::TILE) r.padding_zero = padding_is_zero(out);
  r.pcc = test::pcc(std::span<const float>(r.out), std::span<const double>(ref));
  r.max_err = test::max_abs_diff(r.out, ref);
  return r;
}

OpConfig cpu_config(int q_chunk, int k_chunk) {
  OpConfig c;
  c.op_name = "attention";
  c.dtype = DataType::FLOAT32;
  c.layout = Layout::ROW_MAJOR;
  if (q_chunk > 0) c.kernel_config = SdpaConfig{CoreGrid{8, 8}, q_chunk, k_chunk, false};
  return c;
}

OpConfig ttnn_config(int q_chunk, int k_chunk, MathFidelity fidelity, bool fp32_dest) {
  OpConfig c;
  c.op_name = "attention";
  c.dtype = DataType::BFLOAT16;
  c.layout = Layout::TILE;
  c.kernel_config = SdpaConfig{CoreGrid{8, 8}, q_chunk, k_chunk, false};
  c.compute_kernel_config.math_fidelity = fidelity;
  c.compute_kernel_config.fp32_dest_acc_en = fp32_dest;
  return c;
}

TEST(Sdpa, CpuFloat32MatchesReferenceOverShapesRatiosChunksAndOffsets) {
  for (int64_t s : {1, 7, 33, 100})
    for (int64_t hd : {8, 64})
      for (int64_t ratio : {1, 4, 8})
        for (int mode = 0; mode < 3; ++mode) {  // causal, causal with offset 5, full
          Problem p;
          p.b = 2, p.nkv = 2, p.nh = 2 * ratio, p.s = s, p.hd = hd;
          p.causal = mode < 2;
          p.skv = s + (mode == 1 ? 5 : 0) + (mode == 2 ? 3 : 0);
          for (auto [qc, kc] : {std::pair{16, 24}, std::pair{0, 0}}) {
            const Result r = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR,
                                      cpu_config(qc, kc), static_cast<uint64_t>(s * 131 + hd + ratio));
            SCOPED_TRACE(testing::Message() << "s " << s << " hd " << hd << " ratio " << ratio << " mode " << mode
                                            << " chunks " << qc << "x" << kc);
            EXPECT_GE(r.pcc, 0.99999);
            EXPECT_LE(r.max_err, 2e-5);
          }
        }
}

TEST(Sdpa, CpuAcceptsBf16AndTiledOperands) {
  Problem p;
  p.b = 2, p.nh = 8, p.nkv = 2, p.s = 33, p.skv = 33, p.hd = 64;
  const Result bf = run_case(p, "cpu", DataType::BFLOAT16, DataType::BFLOAT16, Layout::ROW_MAJOR, cpu_config(32, 40));
  EXPECT_LE(bf.max_err, 2e-5);  // fp32 math on the stored bf16 values
  const Result tiled = run_case(p, "cpu", DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE, cpu_config(16, 64));
  EXPECT_LE(tiled.max_err, 2e-5);
  OpConfig out_bf16 = cpu_config(16, 16);
  out_bf16.dtype = DataType::BFLOAT16;
  const Result rounded = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, out_bf16);
  EXPECT_LE(rounded.max_err, 8e-3);  // one bf16 rounding of values below 1
  EXPECT_GE(rounded.pcc, 0.9999);
}

TEST(Sdpa, EveryIsaLevelGivesTheSameAnswer) {
  Problem p;
  p.b = 2, p.nh = 8, p.nkv = 2, p.s = 45, p.skv = 50, p.hd = 40;  // head_dim with a SIMD tail
  std::vector<std::vector<float>> outs;
  const IsaLevel best = cpu_features().best;
  for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512}) {
    if (static_cast<int>(level) > static_cast<int>(best)) continue;
    set_isa_limit(level);
    const Result r = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, cpu_config(16, 24));
    EXPECT_LE(r.max_err, 2e-5) << to_string(level);
    outs.push_back(r.out);
  }
  set_isa_limit(IsaLevel::AVX512_BF16);
  for (std::size_t i = 1; i < outs.size(); ++i)
    for (std::size_t x = 0; x < outs[0].size(); ++x) ASSERT_NEAR(outs[i][x], outs[0][x], 1e-5);
}

TEST(Sdpa, TtnnBf16FollowsTheDeviceModel) {
  for (int64_t s : {33, 100})
    for (int64_t ratio : {1, 4, 8}) {
      Problem p;
      p.b = 2, p.nkv = ratio == 8 ? 1 : 2, p.nh = p.nkv * ratio, p.s = s, p.skv = s, p.hd = 64;
      SCOPED_TRACE(testing::Message() << "s " << s << " ratio " << ratio);
      const Result hifi = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                   ttnn_config(32, 64, MathFidelity::HiFi4, true));
      EXPECT_GE(hifi.pcc, 0.999);
      EXPECT_LE(hifi.max_err, 3e-2);
      const Result lofi = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                   ttnn_config(32, 64, MathFidelity::LoFi, false));
      EXPECT_GE(lofi.pcc, 0.99);
      EXPECT_GT(lofi.max_err, hifi.max_err);  // the model does drop operand bits at LoFi
      const Result bfp8 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE,
                                   ttnn_config(64, 32, MathFidelity::HiFi2, false));
      EXPECT_GE(bfp8.pcc, 0.99);
    }
}

// Head dims below a tile multiple (the bundled tiny models: head_dim 8, 8 heads, 4 kv heads)
// run on a device with the tile padding, to the tolerances of head_dim 64.
TEST(Sdpa, TtnnRunsHeadDimsBelowATileMultiple) {
  for (int64_t hd : {8, 16})
    for (int64_t ratio : {1, 2, 8}) {
      Problem p;
      p.b = 2, p.nh = 8, p.nkv = 8 / ratio, p.s = 45, p.skv = 45, p.hd = hd;
      SCOPED_TRACE(testing::Message() << "hd " << hd << " ratio " << ratio);
      const Result hifi = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                   ttnn_config(32, 64, MathFidelity::HiFi4, true));
      EXPECT_GE(hifi.pcc, 0.999);
      EXPECT_LE(hifi.max_err, 3e-2);
      EXPECT_TRUE(hifi.padding_zero);
      const Result lofi = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                                   ttnn_config(32, 32, MathFidelity::LoFi, false));
      EXPECT_GE(lofi.pcc, 0.99);
      EXPECT_TRUE(lofi.padding_zero);
      const Result bfp8 = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT8_B, Layout::TILE,
                                   ttnn_config(64, 32, MathFidelity::HiFi2, false));
      EXPECT_GE(bfp8.pcc, 0.99);
      EXPECT_TRUE(bfp8.padding_zero);
    }
  // The cost counts whole tiles of the head dim: 8 costs what 32 does.
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  auto cost = [&](int64_t hd) {
    const SdpaArgs a{TensorSpec{"q", Shape{1, 8, 256, hd}, DataType::BFLOAT16, Layout::TILE, {}},
                     TensorSpec{"k", Shape{1, 4, 256, hd}, DataType::BFLOAT8_B, Layout::TILE, {}},
                     TensorSpec{"v", Shape{1, 4, 256, hd}, DataType::BFLOAT8_B, Layout::TILE, {}}, true, std::nullopt};
    return SdpaOp::cost(a, ttnn_config(64, 64, MathFidelity::HiFi2, false), n150);
  };
  EXPECT_EQ(cost(8).dram_s, cost(32).dram_s);
  EXPECT_EQ(cost(8).compute_s, cost(32).compute_s);
}

TEST(Sdpa, TtnnChunkedPrefillWithOffset) {
  Problem p;
  p.b = 1, p.nh = 8, p.nkv = 2, p.s = 40, p.skv = 104, p.hd = 64;  // offset 64: two 32-chunks
  const Result r = run_case(p, "ttnn:n150", DataType::BFLOAT16, DataType::BFLOAT16, Layout::TILE,
                            ttnn_config(32, 32, MathFidelity::HiFi4, true));
  EXPECT_GE(r.pcc, 0.999);
}

// A prompt in two chunks, the second attending over the KV cache (kv_len keys of a
// [batch, kv_heads, max_seq_len, head_dim] tensor), equals one prefill of the whole prompt.
void chunked_prefill_over_cache(const std::string& device_name, DataType dt, Layout layout, double tol) {
  auto dev = Device::open(device_name);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t b = 2, nh = 8, nkv = 2, hd = 64, first = 64, second = 40, total = first + second, max_seq = 128;
  const Shape qs{b, nh, total, hd}, ks{b, nkv, total, hd};
  const auto qv = test::random_values(static_cast<std::size_t>(qs.volume()), 51, -2.f, 2.f);
  const auto kv = test::random_values(static_cast<std::size_t>(ks.volume()), 52, -2.f, 2.f);
  const auto vv = test::random_values(static_cast<std::size_t>(ks.volume()), 53);
  OpConfig cfg;
  cfg.dtype = dt, cfg.layout = layout;
  cfg.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 32, false};
  cfg.compute_kernel_config.math_fidelity = MathFidelity::HiFi4;
  cfg.compute_kernel_config.fp32_dest_acc_en = true;
  SdpaArgs whole{TensorSpec{"q", qs, dt, layout, {}}, TensorSpec{"k", ks, dt, layout, {}},
                 TensorSpec{"v", ks, dt, layout, {}}, true, std::nullopt};
  Tensor full = Tensor::empty(SdpaOp::output_spec(whole, cfg));
  SdpaOp::run(whole, test::make_tensor(qv, qs, dt, layout), test::make_tensor(kv, ks, dt, layout),
              test::make_tensor(vv, ks, dt, layout), full, cfg, ctx);
  const auto want = to_float(full);

  auto rows = [&](const std::vector<float>& x, int64_t heads, int64_t from, int64_t count) {
    std::vector<float> r;
    for (int64_t m = 0; m < b * heads; ++m)
      r.insert(r.end(), x.begin() + (m * total + from) * hd, x.begin() + (m * total + from + count) * hd);
    return r;
  };
  const TensorSpec cache_spec{"cache", Shape{b, nkv, max_seq, hd}, dt, Layout::TILE, {}};
  OpConfig cache_cfg = cfg;
  cache_cfg.layout = Layout::TILE;
  Tensor kc = Tensor::empty(cache_spec), vc = Tensor::empty(cache_spec);
  for (auto [from, count] : {std::pair<int64_t, int64_t>{0, first}, {first, second}}) {
    FillCacheArgs fill{cache_spec, TensorSpec{"chunk", Shape{b, nkv, count, hd}, dt, layout, {}}};
    FillCacheOp::run(fill, test::make_tensor(rows(kv, nkv, from, count), fill.input.shape, dt, layout), 0, from, kc,
                     cache_cfg, ctx);
    FillCacheOp::run(fill, test::make_tensor(rows(vv, nkv, from, count), fill.input.shape, dt, layout), 0, from, vc,
                     cache_cfg, ctx);
  }
  SdpaArgs chunk{TensorSpec{"q", Shape{b, nh, second, hd}, dt, layout, {}}, cache_spec, cache_spec, true, std::nullopt,
                 total};
  SdpaOp::validate(chunk, cfg, dev->spec());
  Tensor out = Tensor::empty(SdpaOp::output_spec(chunk, cfg));
  SdpaOp::run(chunk, test::make_tensor(rows(qv, nh, first, second), chunk.q.shape, dt, layout), kc, vc, out, cfg, ctx);
  const auto got = to_float(out);
  const auto expect = rows(want, nh, first, second);
  double err = 0;
  for (std::size_t i = 0; i < got.size(); ++i) err = std::max(err, std::abs(static_cast<double>(got[i]) - expect[i]));
  EXPECT_LE(err, tol) << device_name;
}

TEST(Sdpa, ChunkedPrefillOverTheCacheEqualsOnePrefill) {
  chunked_prefill_over_cache("cpu", DataType::FLOAT32, Layout::ROW_MAJOR, 2e-6);
  chunked_prefill_over_cache("ttnn:n150", DataType::BFLOAT16, Layout::TILE, 1e-2);
}

TEST(Sdpa, SingleThreadMatchesThePool) {
  Problem p;
  p.b = 2, p.nh = 8, p.nkv = 2, p.s = 70, p.skv = 70, p.hd = 64;
  OpConfig pooled = cpu_config(0, 0);
  OpConfig single = pooled;
  single.kernel_config = CpuKernelConfig{1, 0, 0, 0};
  const Result a = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, pooled);
  const Result b = run_case(p, "cpu", DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR, single);
  EXPECT_EQ(a.out, b.out);  // work items are independent: the split changes nothing
}

TEST(Sdpa, CostHalvesForCausalAndCountsKvRereadsOnDevice) {
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  SdpaArgs a{TensorSpec{"q", Shape{1, 32, 2048, 64}, DataType::BFLOAT16, Layout::TILE, {}},
             TensorSpec{"k", Shape{1, 8, 2048, 64}, DataType::BFLOAT16, Layout::TILE, {}},
             TensorSpec{"v", Shape{1, 8, 2048, 64}, DataType::BFLOAT16, Layout::TILE, {}}, true, std::nullopt};
  const OpConfig c = ttnn_config(128, 128, MathFidelity::HiFi2, false);
  const Cost causal = SdpaOp::cost(a, c, n150);
  a.causal = false;
  const Cost full = SdpaOp::cost(a, c, n150);
  EXPECT_LT(causal.compute_s, 0.6 * full.compute_s);
  EXPECT_GT(causal.compute_s, 0.4 * full.compute_s);
  EXPECT_GT(full.dram_s, 0.0);
  const Cost cpu = SdpaOp::cost(a, cpu_config(0, 0), Device::spec_for("cpu"));
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

SdpaArgs ttnn_args(int64_t s = 64, int64_t skv = 64, int64_t hd = 64) {
  return SdpaArgs{TensorSpec{"q", Shape{1, 8, s, hd}, DataType::BFLOAT16, Layout::TILE, {}},
                  TensorSpec{"k", Shape{1, 2, skv, hd}, DataType::BFLOAT16, Layout::TILE, {}},
                  TensorSpec{"v", Shape{1, 2, skv, hd}, DataType::BFLOAT16, Layout::TILE, {}}, true, std::nullopt};
}

TEST(SdpaValidation, EachErrorNamesFieldValueAndFix) {
  const DeviceSpec cpu = Device::spec_for("cpu");
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const OpConfig cc = cpu_config(32, 32);
  const OpConfig tc = ttnn_config(32, 32, MathFidelity::HiFi2, false);
  const SdpaArgs base = ttnn_args();
  SdpaArgs host = base;
  for (TensorSpec* t : {&host.q, &host.k, &host.v}) t->dtype = DataType::FLOAT32, t->layout = Layout::ROW_MAJOR;

  struct Case {
    std::function<void(SdpaArgs&, OpConfig&)> edit;
    bool ttnn;
    ErrorKind kind;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {[](SdpaArgs& a, OpConfig&) { a.q.shape = Shape{8, 64, 64}; }, false, ErrorKind::ShapeMismatch,
       "sdpa: q has shape [8, 64, 64] (rank 3); expected [batch, num_heads, seq, head_dim]"},
      {[](SdpaArgs& a, OpConfig&) { a.q.shape[1] = 6, a.k.shape[1] = a.v.shape[1] = 4; }, false, ErrorKind::ShapeMismatch,
       "num_heads 6 (q.shape[1]) is not a multiple of num_kv_heads 4 (k.shape[1]); num_kv_heads must be one of 1, 2, 3, 6"},
      {[](SdpaArgs& a, OpConfig&) { a.k.shape[3] = a.v.shape[3] = 32; }, false, ErrorKind::ShapeMismatch,
       "k head_dim 32 (k.shape[3]) differs from q head_dim 64 (q.shape[3])"},
      {[](SdpaArgs& a, OpConfig&) { a.k.shape[0] = a.v.shape[0] = 3; }, false, ErrorKind::ShapeMismatch,
       "k batch 3 (k.shape[0]) differs from q batch 1 (q.shape[0])"},
      {[](SdpaArgs& a, OpConfig&) { a.v.shape[2] = 65; }, false, ErrorKind::ShapeMismatch,
       "v has shape [1, 2, 65, 64]; it must equal k's shape [1, 2, 64, 64]"},
      {[](SdpaArgs& a, OpConfig&) { a.k.shape[2] = a.v.shape[2] = 10; }, false, ErrorKind::ShapeMismatch,
       "causal attention needs kv_seq >= seq; found kv_seq 10 (k.shape[2] or kv_len) < seq 64 (q.shape[2])"},
      {[](SdpaArgs& a, OpConfig&) { a.scale = -1.f; }, false, ErrorKind::InvalidConfig,
       "scale -1 (scale) must be a positive finite number"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{1, 1}, 0, 32, false}; }, false,
       ErrorKind::InvalidConfig, "chunk sizes must be positive; found q_chunk_size 0 and k_chunk_size 32"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = Matmul2DConfig{}; }, false, ErrorKind::InvalidConfig,
       "sdpa: kernel_config is matmul_2d; use sdpa (SdpaConfig), cpu or none"},
      {[](SdpaArgs&, OpConfig& c) { c.dtype = DataType::BFLOAT8_B; }, false, ErrorKind::InvalidConfig,
       "output dtype BFLOAT8_B exists only in TILE layout, found ROW_MAJOR (layout)"},
      {[](SdpaArgs& a, OpConfig&) { a.q.dtype = DataType::INT32; }, false, ErrorKind::InvalidConfig,
       "sdpa: q dtype INT32 is not supported; use one of FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B"},
      // ttnn: formats, layout, placement, program config and L1.
      {[](SdpaArgs& a, OpConfig&) { a.q.dtype = DataType::FLOAT32; }, true, ErrorKind::InvalidConfig,
       "sdpa: q dtype FLOAT32 is not supported; use one of BFLOAT16, BFLOAT8_B, BFLOAT4_B"},
      {[](SdpaArgs& a, OpConfig&) { a.k.layout = Layout::ROW_MAJOR; }, true, ErrorKind::InvalidConfig,
       "sdpa: k is in ROW_MAJOR layout (k.layout); ttnn SDPA takes TILE inputs"},
      {[](SdpaArgs& a, OpConfig&) {
         a.v.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                          ShardSpec{CoreGrid{2, 1}, {64, 64}, ShardOrientation::ROW_MAJOR}};
       },
       true, ErrorKind::InvalidConfig, "sdpa: v is HEIGHT_SHARDED (v.memory_config); SDPA takes interleaved"},
      {[](SdpaArgs&, OpConfig& c) { c.dtype = DataType::BFLOAT8_B; }, true, ErrorKind::InvalidConfig,
       "sdpa: output dtype BFLOAT8_B (dtype) differs from q's dtype BFLOAT16"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 48, 32, false}; }, true,
       ErrorKind::InvalidConfig, "sdpa: q_chunk_size 48 is not a multiple of 32 (kernel_config.q_chunk_size)"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 32, 40, false}; }, true,
       ErrorKind::InvalidConfig, "sdpa: k_chunk_size 40 is not a multiple of 32 (kernel_config.k_chunk_size)"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = SdpaConfig{CoreGrid{9, 8}, 32, 32, false}; }, true,
       ErrorKind::InvalidConfig, "sdpa: grid 9x8 (kernel_config.grid) does not fit the device's 8x8 compute grid"},
      {[](SdpaArgs& a, OpConfig&) { a.k.shape[2] = a.v.shape[2] = 69; }, true, ErrorKind::InvalidConfig,
       "sdpa: causal offset 5 (kv_seq - seq) is not a multiple of q_chunk_size 32 and k_chunk_size 32"},
      {[](SdpaArgs& a, OpConfig& c) {
         a.q.shape[2] = a.k.shape[2] = a.v.shape[2] = 4096;
         c.kernel_config = SdpaConfig{CoreGrid{8, 8}, 1024, 1024, false};
       },
       true, ErrorKind::OutOfMemory, "sdpa: q_chunk_size 1024 x k_chunk_size 1024 needs"},
      {[](SdpaArgs&, OpConfig& c) { c.kernel_config = CpuKernelConfig{}; }, true, ErrorKind::InvalidConfig,
       "sdpa: kernel_config is cpu; use sdpa (SdpaConfig) or none"},
      {[](SdpaArgs& a, OpConfig&) { a.k.shape[2] = a.v.shape[2] = 0; }, false, ErrorKind::ShapeMismatch,
       "sdpa: k has shape [1, 2, 0, 64] with an empty dimension"},
      {[](SdpaArgs&, OpConfig& c) { c.layout = Layout::ROW_MAJOR; }, true, ErrorKind::InvalidConfig,
       "sdpa: output layout ROW_MAJOR (layout); ttnn SDPA writes TILE"},
      {[](SdpaArgs& a, OpConfig&) { a.kv_len = 65; }, false, ErrorKind::InvalidConfig,
       "sdpa: kv_len 65 (kv_len) exceeds the 64 rows of k (k.shape[2]); use 0 (all rows) up to 64"},
  };
  for (const Case& c : cases) {
    SdpaArgs a = c.ttnn ? base : host;
    OpConfig cfg = c.ttnn ? tc : cc;
    c.edit(a, cfg);
    expect_error([&] { SdpaOp::validate(a, cfg, c.ttnn ? n150 : cpu); }, c.kind, c.needle);
  }
  // The unedited configs are valid.
  SdpaOp::validate(base, tc, n150);
  SdpaOp::validate(host, cc, cpu);
}

}  // namespace
}  // namespace ttt::ops
