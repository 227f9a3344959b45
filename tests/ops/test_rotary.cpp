// Rotary embedding against a double-precision reference for plain and Llama 3 frequencies,
// prefill (with a start offset) and decode (a position per user); the relative-position
// property; in-place runs; the ttnn model; each validation error once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "ops/op_test_util.hpp"
#include "ops/rotary/rotary.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

// transformers' default and llama3 inverse frequencies, written out independently.
std::vector<double> reference_inv_freq(int64_t d, double theta, const Llama3RopeScaling* s) {
  std::vector<double> f;
  for (int64_t i = 0; i < d; i += 2) f.push_back(1.0 / std::pow(theta, static_cast<double>(i) / d));
  if (!s) return f;
  const double low_wl = s->original_max_position_embeddings / s->low_freq_factor;
  const double high_wl = s->original_max_position_embeddings / s->high_freq_factor;
  for (double& x : f) {
    const double wl = 2 * std::numbers::pi / x;
    const double scaled = wl > low_wl ? x / s->factor : x;
    const double smooth =
        (s->original_max_position_embeddings / wl - s->low_freq_factor) / (s->high_freq_factor - s->low_freq_factor);
    const double smoothed = (1 - smooth) * scaled / s->factor + smooth * scaled;
    x = (!(wl < high_wl) && !(wl > low_wl)) ? smoothed : scaled;
  }
  return f;
}

// x * cos + rotate_half(x) * sin with cos, sin = cat(c, c), cat(s, s).
void reference_rotate(const double* x, double* out, int64_t d, double pos, const std::vector<double>& f) {
  const int64_t h = d / 2;
  for (int64_t i = 0; i < h; ++i) {
    const double c = std::cos(pos * f[i]), s = std::sin(pos * f[i]);
    out[i] = x[i] * c - x[i + h] * s;
    out[i + h] = x[i + h] * c + x[i] * s;
  }
}

OpConfig config_for(DataType dt, Layout layout) {
  OpConfig c;
  c.op_name = "rotary";
  c.dtype = dt;
  c.layout = layout;
  return c;
}

const Llama3RopeScaling kLlama32{32.0, 1.0, 4.0, 8192};

using test::padding_is_zero;

TEST(Rotary, InverseFrequenciesFollowTransformers) {
  for (const Llama3RopeScaling* s : {static_cast<const Llama3RopeScaling*>(nullptr), &kLlama32}) {
    RopeParams p{500000.0, s ? std::optional(*s) : std::nullopt};
    const auto got = rope_inv_freq(128, p);
    const auto want = reference_inv_freq(128, 500000.0, s);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15 * want[i]) << i;
  }
  // The three bands of llama3 are all present for head_dim 128, theta 500000.
  const auto plain = rope_inv_freq(128, {500000.0, std::nullopt});
  const auto scaled = rope_inv_freq(128, {500000.0, kLlama32});
  EXPECT_EQ(scaled.front(), plain.front());                    // short wavelengths kept
  EXPECT_NEAR(scaled.back(), plain.back() / 32.0, 1e-18);      // long ones divided by factor
  int medium = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) medium += scaled[i] != plain[i] && std::abs(scaled[i] * 32 - plain[i]) > 1e-12 * plain[i];
  EXPECT_GT(medium, 0);
}

struct RunResult {
  std::vector<float> out;
  std::vector<double> ref;
  bool padding_zero = true;  // TILE outputs: the padded columns and rows hold zero
};

RunResult run_prefill(const std::string& device, int64_t hd, const RopeParams& rp, DataType dt, Layout layout,
                      int64_t start, bool in_place = false, bool fp32_dest = false) {
  auto dev = Device::open(device);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t b = 2, h = 3, s = 33, max_seq = 64;
  const Shape shape{b, h, s, hd};
  const auto xv = test::random_values(static_cast<std::size_t>(shape.volume()), 3);
  RotaryArgs args{TensorSpec{"q", shape, dt, layout, {}}, RotaryMode::PREFILL, max_seq};
  OpConfig cfg = config_for(dt, layout);
  cfg.compute_kernel_config.fp32_dest_acc_en = fp32_dest;
  RotaryOp::validate(args, cfg, dev->spec());
  const RotaryTables tables = RotaryTables::build(hd, max_seq, rp);
  Tensor x = test::make_tensor(xv, shape, dt, layout, "q");
  Tensor out = in_place ? x : Tensor::empty(RotaryOp::output_spec(args, cfg));
  RotaryOp::run_prefill(args, tables, x, start, out, cfg, ctx);
  RunResult r;
  r.out = to_float(out);
  if (layout == Layout::TILE) r.padding_zero = padding_is_zero(out);
  const auto xq = test::quantized(xv, shape, dt, layout);
  const auto f = reference_inv_freq(hd, rp.theta, rp.llama3 ? &*rp.llama3 : nullptr);
  r.ref.resize(xq.size());
  for (int64_t m = 0; m < b * h; ++m)
    for (int64_t t = 0; t < s; ++t)
      reference_rotate(xq.data() + (m * s + t) * hd, r.ref.data() + (m * s + t) * hd, hd, static_cast<double>(start + t), f);
  return r;
}

TEST(Rotary, PrefillMatchesReferenceForBothScalings) {
  for (int64_t hd : {8, 64})
    for (bool llama3 : {false, true}) {
      const RopeParams rp{llama3 ? 500000.0 : 10000.0, llama3 ? std::optional(kLlama32) : std::nullopt};
      const RunResult r = run_prefill("cpu", hd, rp, DataType::FLOAT32, Layout::ROW_MAJOR, 7);
      EXPECT_LE(test::max_abs_diff(r.out, r.ref), 1e-6) << "hd " << hd << " llama3 " << llama3;
      const RunResult in_place = run_prefill("cpu", hd, rp, DataType::FLOAT32, Layout::ROW_MAJOR, 7, true);
      EXPECT_EQ(in_place.out, r.out);
      const RunResult tiled = run_prefill("cpu", hd, rp, DataType::BFLOAT16, Layout::TILE, 30);
      EXPECT_LE(test::max_abs_diff(tiled.out, tiled.ref), 8e-3);  // one bf16 rounding of values below 1.5
    }
}

TEST(Rotary, TtnnBf16FollowsTheDeviceModel) {
  for (bool fp32_dest : {false, true}) {
    const RopeParams rp{500000.0, kLlama32};
    const RunResult r = run_prefill("ttnn:n150", 64, rp, DataType::BFLOAT16, Layout::TILE, 5, false, fp32_dest);
    EXPECT_GE(test::pcc(std::span<const float>(r.out), std::span<const double>(r.ref)), 0.9999);
    EXPECT_LE(test::max_abs_diff(r.out, r.ref), 2e-2);
  }
}

// Head dims below a tile multiple (the bundled tiny models use 8) run on a device with the
// tile padding: the logical values rotate as for 64, and the padded columns stay zero.
TEST(Rotary, TtnnRunsHeadDimsBelowATileMultiple) {
  for (int64_t hd : {8, 16})
    for (bool fp32_dest : {false, true}) {
      SCOPED_TRACE(testing::Message() << "hd " << hd << " fp32_dest " << fp32_dest);
      const RopeParams rp{10000.0, std::nullopt};
      const RunResult r = run_prefill("ttnn:n150", hd, rp, DataType::BFLOAT16, Layout::TILE, 5, false, fp32_dest);
      EXPECT_GE(test::pcc(std::span<const float>(r.out), std::span<const double>(r.ref)), 0.9999);
      EXPECT_LE(test::max_abs_diff(r.out, r.ref), 2e-2);
      EXPECT_TRUE(r.padding_zero);
      const RunResult in_place = run_prefill("ttnn:n150", hd, rp, DataType::BFLOAT16, Layout::TILE, 5, true, fp32_dest);
      EXPECT_EQ(in_place.out, r.out);
    }
  // Decode: one position per user, in place.
  auto dev = Device::open("ttnn:n150");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  for (int64_t hd : {8, 16}) {
    SCOPED_TRACE(testing::Message() << "decode hd " << hd);
    const int64_t b = 3, h = 8, max_seq = 512;
    const RopeParams rp{10000.0, std::nullopt};
    const RotaryTables tables = RotaryTables::build(hd, max_seq, rp);
    const Shape shape{1, b, h, hd};
    const auto xv = test::random_values(static_cast<std::size_t>(shape.volume()), 12);
    RotaryArgs args{TensorSpec{"k", shape, DataType::BFLOAT16, Layout::TILE, {}}, RotaryMode::DECODE, max_seq};
    const OpConfig cfg = config_for(DataType::BFLOAT16, Layout::TILE);
    RotaryOp::validate(args, cfg, dev->spec());
    Tensor x = test::make_tensor(xv, shape, DataType::BFLOAT16, Layout::TILE, "k");
    const auto xq = test::quantized(xv, shape, DataType::BFLOAT16, Layout::TILE);
    const std::vector<int32_t> pos = {0, 17, 511};
    RotaryOp::run_decode(args, tables, x, pos, x, cfg, ctx);
    const auto got = to_float(x);
    const auto f = reference_inv_freq(hd, rp.theta, nullptr);
    std::vector<double> want(xq.size());
    for (int64_t u = 0; u < b; ++u)
      for (int64_t i = 0; i < h; ++i)
        reference_rotate(xq.data() + (u * h + i) * hd, want.data() + (u * h + i) * hd, hd, pos[u], f);
    EXPECT_GE(test::pcc(std::span<const float>(got), std::span<const double>(want)), 0.9999);
    EXPECT_LE(test::max_abs_diff(got, want), 2e-2);
    EXPECT_TRUE(padding_is_zero(x));
  }
  // The cost counts whole tiles of the head dim: 8 costs what 32 does.
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const OpConfig cfg = config_for(DataType::BFLOAT16, Layout::TILE);
  RotaryArgs narrow{TensorSpec{"q", Shape{1, 8, 128, 8}, DataType::BFLOAT16, Layout::TILE, {}}, RotaryMode::PREFILL, 128};
  RotaryArgs tile = narrow;
  tile.input.shape[3] = 32;
  const Cost c8 = RotaryOp::cost(narrow, cfg, n150), c32 = RotaryOp::cost(tile, cfg, n150);
  EXPECT_EQ(c8.dram_s, c32.dram_s);
  EXPECT_EQ(c8.compute_s, c32.compute_s);
}

TEST(Rotary, DecodeUsesEachUsersPosition) {
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t b = 3, h = 4, hd = 64, max_seq = 2048;
  const RopeParams rp{500000.0, kLlama32};
  const RotaryTables tables = RotaryTables::build(hd, max_seq, rp);
  const Shape shape{1, b, h, hd};
  const auto xv = test::random_values(static_cast<std::size_t>(shape.volume()), 9);
  RotaryArgs args{TensorSpec{"k", shape, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, RotaryMode::DECODE, max_seq};
  const OpConfig cfg = config_for(DataType::FLOAT32, Layout::ROW_MAJOR);
  RotaryOp::validate(args, cfg, dev->spec());
  Tensor x = test::make_tensor(xv, shape);
  Tensor out = Tensor::empty(RotaryOp::output_spec(args, cfg));
  const std::vector<int32_t> pos = {0, 17, 2047};
  RotaryOp::run_decode(args, tables, x, pos, out, cfg, ctx);
  const auto got = to_float(out);
  const auto f = reference_inv_freq(hd, rp.theta, &kLlama32);
  std::vector<double> xd(xv.begin(), xv.end()), want(xd.size());
  for (int64_t u = 0; u < b; ++u)
    for (int64_t i = 0; i < h; ++i)
      reference_rotate(xd.data() + (u * h + i) * hd, want.data() + (u * h + i) * hd, hd, pos[u], f);
  // Angles up to 2047 rad: the float tables carry about 1e-7 relative error.
  EXPECT_LE(test::max_abs_diff(got, want), 2e-6);
  for (int64_t c = 0; c < h * hd; ++c) EXPECT_EQ(got[c], xv[c]);  // position 0 is the identity
}

TEST(Rotary, DotProductDependsOnlyOnRelativePosition) {
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t hd = 64, max_seq = 8192;
  const RotaryTables tables = RotaryTables::build(hd, max_seq, {500000.0, kLlama32});
  const auto qv = test::random_values(hd, 1), kv = test::random_values(hd, 2);
  auto rotate = [&](const std::vector<float>& v, int32_t p) {
    RotaryArgs args{TensorSpec{"x", Shape{1, 1, 1, hd}, DataType::FLOAT32, Layout::ROW_MAJOR, {}}, RotaryMode::DECODE,
                    max_seq};
    const OpConfig cfg = config_for(DataType::FLOAT32, Layout::ROW_MAJOR);
    Tensor x = test::make_tensor(v, args.input.shape);
    Tensor out = Tensor::empty(RotaryOp::output_spec(args, cfg));
    const std::vector<int32_t> pos = {p};
    RotaryOp::run_decode(args, tables, x, pos, out, cfg, ctx);
    return to_float(out);
  };
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
  };
  for (int32_t delta : {0, 1, 5, 100}) {
    const double near = dot(rotate(qv, 10 + delta), rotate(kv, 10));
    const double far = dot(rotate(qv, 4000 + delta), rotate(kv, 4000));
    EXPECT_NEAR(near, far, 1e-5) << "delta " << delta;
  }
  EXPECT_GT(std::abs(dot(rotate(qv, 11), rotate(kv, 10)) - dot(rotate(qv, 10), rotate(kv, 10))), 1e-4);
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

TEST(RotaryValidation, EachErrorNamesFieldValueAndFix) {
  const DeviceSpec cpu = Device::spec_for("cpu");
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const RotaryArgs pre{TensorSpec{"q", Shape{1, 8, 64, 64}, DataType::BFLOAT16, Layout::TILE, {}}, RotaryMode::PREFILL,
                       128};
  const OpConfig tc = config_for(DataType::BFLOAT16, Layout::TILE);
  auto v = [&](auto&& edit, const DeviceSpec& d) {
    RotaryArgs a = pre;
    OpConfig c = tc;
    edit(a, c);
    RotaryOp::validate(a, c, d);
  };
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.shape[3] = 63; }, cpu); }, ErrorKind::ShapeMismatch,
               "rotary: head_dim 63 (input.shape[3]) is odd");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.shape = Shape{8, 64, 64}; }, cpu); },
               ErrorKind::ShapeMismatch, "rotary: input has shape [8, 64, 64] (rank 3); PREFILL expects [batch, heads, seq, head_dim]");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.mode = RotaryMode::DECODE; a.input.shape[0] = 2; }, cpu); },
               ErrorKind::ShapeMismatch, "rotary: decode input has shape [2, 8, 64, 64]; expected [1, batch, heads, head_dim]");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.max_seq_len = 32; }, cpu); }, ErrorKind::ShapeMismatch,
               "rotary: seq 64 (input.shape[2]) exceeds max_seq_len 32 (max_seq_len)");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.dtype = DataType::UINT32; }, cpu); }, ErrorKind::InvalidConfig,
               "rotary: input dtype UINT32 is not supported");
  expect_error([&] { v([](RotaryArgs& a, OpConfig& c) { a.input.dtype = c.dtype = DataType::FLOAT32; }, n150); },
               ErrorKind::InvalidConfig, "rotary: input dtype FLOAT32 is not supported; use one of BFLOAT16");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.layout = Layout::ROW_MAJOR; }, n150); },
               ErrorKind::InvalidConfig, "rotary: input is in ROW_MAJOR layout (input.layout); rotary_embedding_llama takes TILE");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.shape[3] = 288; }, n150); }, ErrorKind::InvalidConfig,
               "rotary: head_dim 288 (input.shape[3]) exceeds 256, the most rotary_embedding_llama takes on ttnn devices");
  expect_error([&] { v([](RotaryArgs& a, OpConfig& c) { a.input.shape[3] = 160; c.compute_kernel_config.fp32_dest_acc_en = true; }, n150); },
               ErrorKind::InvalidConfig, "rotary: head_dim 160 > 128 needs fp32_dest_acc_en false");
  expect_error([&] { v([](RotaryArgs&, OpConfig& c) { c.dtype = DataType::BFLOAT8_B; }, n150); }, ErrorKind::InvalidConfig,
               "rotary: output BFLOAT8_B TILE (dtype, layout) differs from the input's BFLOAT16 TILE");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.mode = RotaryMode::DECODE; a.input.shape = Shape{1, 4, 40, 64}; }, n150); },
               ErrorKind::InvalidConfig, "rotary: decode takes at most 32 heads per user; found 40 (input.shape[2])");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.max_seq_len = 0; }, cpu); }, ErrorKind::InvalidConfig,
               "rotary: max_seq_len 0 (max_seq_len) must be positive");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.input.shape[1] = 0; }, cpu); }, ErrorKind::ShapeMismatch,
               "rotary: input has shape [1, 0, 64, 64] with an empty dimension");
  expect_error([&] { v([](RotaryArgs& a, OpConfig&) { a.mode = RotaryMode::DECODE; a.input.shape = Shape{1, 65, 8, 64}; }, n150); },
               ErrorKind::InvalidConfig, "rotary: decode runs one user per core; batch 65 (input.shape[1]) exceeds the 64 cores of ttnn:n150");
  expect_error([&] { RotaryTables::build(64, 0, {}); }, ErrorKind::InvalidConfig, "rotary: max_seq_len 0 must be positive");
  expect_error([&] { rope_inv_freq(64, {-1.0, std::nullopt}); }, ErrorKind::InvalidConfig,
               "rotary: rope_theta -1 (theta) must be positive");
  expect_error([&] { RotaryTables::build(64, 128, {10000.0, Llama3RopeScaling{8.0, 4.0, 1.0, 8192}}); },
               ErrorKind::InvalidConfig, "high_freq_factor 1, original_max_position_embeddings 8192 (rope_scaling)");

  // Run-time checks: tables and positions.
  auto dev = Device::open("cpu");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  RotaryArgs a = pre;
  a.input.dtype = DataType::FLOAT32, a.input.layout = Layout::ROW_MAJOR;
  const OpConfig cc = config_for(DataType::FLOAT32, Layout::ROW_MAJOR);
  Tensor x = Tensor::empty(a.input), out = Tensor::empty(a.input);
  const RotaryTables t128 = RotaryTables::build(64, 128, {});
  const RotaryTables t32 = RotaryTables::build(32, 128, {});
  expect_error([&] { RotaryOp::run_prefill(a, t128, x, 100, out, cc, ctx); }, ErrorKind::InvalidConfig,
               "rotary: positions [100, 164) (start_pos + seq) leave the tables' range [0, 128)");
  expect_error([&] { RotaryOp::run_prefill(a, t32, x, 0, out, cc, ctx); }, ErrorKind::ShapeMismatch,
               "rotary: tables were built for head_dim 32, the input has head_dim 64");
  RotaryArgs d = a;
  d.mode = RotaryMode::DECODE;
  d.input.shape = Shape{1, 2, 8, 64};
  Tensor xd = Tensor::empty(d.input), od = Tensor::empty(d.input);
  const std::vector<int32_t> bad = {3, 128};
  expect_error([&] { RotaryOp::run_decode(d, t128, xd, bad, od, cc, ctx); }, ErrorKind::InvalidConfig,
               "rotary: position 128 of user 1 is outside the tables' range [0, 128)");
  expect_error([&] { RotaryOp::run_prefill(d, t128, xd, 0, od, cc, ctx); }, ErrorKind::InvalidConfig,
               "rotary: run_prefill called with mode DECODE");
  expect_error([&] { RotaryOp::run_decode(a, t128, x, bad, out, cc, ctx); }, ErrorKind::InvalidConfig,
               "rotary: run_decode called with mode PREFILL");
  const std::vector<int32_t> one = {3};
  expect_error([&] { RotaryOp::run_decode(d, t128, xd, one, od, cc, ctx); }, ErrorKind::ShapeMismatch,
               "rotary: 1 positions given for a batch of 2 (positions)");
  RotaryArgs longer = a;
  longer.max_seq_len = 256;
  expect_error([&] { RotaryOp::run_prefill(longer, t128, x, 0, out, cc, ctx); }, ErrorKind::ShapeMismatch,
               "rotary: tables cover 128 positions, fewer than max_seq_len 256 (max_seq_len)");
}

}  // namespace
}  // namespace ttt::ops
