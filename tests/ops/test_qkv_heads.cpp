// Splitting a fused QKV projection into heads and concatenating heads back, prefill and
// decode, against an index-by-index reference; format changes on cpu; exact copies on
// ttnn; each validation error once.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ops/op_test_util.hpp"
#include "ops/qkv_heads/qkv_heads.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {
namespace {

OpConfig config_for(DataType dt, Layout layout) {
  OpConfig c;
  c.op_name = "qkv";
  c.dtype = dt;
  c.layout = layout;
  return c;
}

struct Heads {
  int64_t nh = 4, nkv = 2, hd = 8;
};

using test::padding_is_zero;

// Value of head t (0..nh+2nkv), column c, of fused row `row`.
float fused(const std::vector<float>& in, int64_t width, int64_t row, int64_t t, int64_t c, int64_t hd) {
  return in[static_cast<std::size_t>(row * width + t * hd + c)];
}

void check_create_prefill(const std::string& device, DataType dt, Layout layout, const Heads& h, DataType out_dt) {
  SCOPED_TRACE(testing::Message() << device << " " << to_string(dt) << " -> " << to_string(out_dt) << " hd " << h.hd);
  auto dev = Device::open(device);
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  const int64_t b = 2, s = 37, width = (h.nh + 2 * h.nkv) * h.hd;
  const auto values = test::random_values(static_cast<std::size_t>(b * s * width), 7);
  CreateQkvHeadsArgs args{TensorSpec{"fused", Shape{b, s, width}, dt, layout, {}}, h.nh, h.nkv, h.hd};
  const OpConfig cfg = config_for(out_dt, layout);
  CreateQkvHeadsOp::validate(args, cfg, dev->spec());
  const QkvSpecs specs = CreateQkvHeadsOp::output_specs(args, cfg);
  EXPECT_EQ(specs.q.shape, (Shape{b, h.nh, s, h.hd}));
  EXPECT_EQ(specs.k.shape, (Shape{b, h.nkv, s, h.hd}));
  Tensor in = test::make_tensor(values, args.input.shape, dt, layout);
  Tensor q = Tensor::empty(specs.q), k = Tensor::empty(specs.k), v = Tensor::empty(specs.v);
  CreateQkvHeadsOp::run(args, in, q, k, v, cfg, ctx);
  const auto seen = to_float(in);
  const auto qo = to_float(q), ko = to_float(k), vo = to_float(v);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t t = 0; t < h.nh + 2 * h.nkv; ++t)
      for (int64_t r = 0; r < s; ++r)
        for (int64_t c = 0; c < h.hd; ++c) {
          const float x = fused(seen, width, bi * s + r, t, c, h.hd);
          const float want = out_dt == DataType::BFLOAT16 ? bfloat16_to_float(float_to_bfloat16(x)) : x;
          const std::vector<float>& o = t < h.nh ? qo : (t < h.nh + h.nkv ? ko : vo);
          const int64_t heads = t < h.nh ? h.nh : h.nkv, hh = t < h.nh ? t : (t - h.nh) % h.nkv;
          ASSERT_EQ(o[((bi * heads + hh) * s + r) * h.hd + c], want) << "head " << t << " row " << r << " col " << c;
        }
  if (layout == Layout::TILE) {
    EXPECT_TRUE(padding_is_zero(q));
    EXPECT_TRUE(padding_is_zero(k));
    EXPECT_TRUE(padding_is_zero(v));
  }
}

TEST(QkvHeads, CreatePrefillPlacesEveryHead) {
  check_create_prefill("cpu", DataType::FLOAT32, Layout::ROW_MAJOR, {4, 2, 8}, DataType::FLOAT32);
  check_create_prefill("cpu", DataType::FLOAT32, Layout::ROW_MAJOR, {8, 1, 8}, DataType::BFLOAT16);
  check_create_prefill("cpu", DataType::BFLOAT16, Layout::TILE, {8, 2, 24}, DataType::BFLOAT16);
  check_create_prefill("ttnn:n150", DataType::BFLOAT16, Layout::TILE, {8, 2, 64}, DataType::BFLOAT16);
  check_create_prefill("ttnn:n150", DataType::FLOAT32, Layout::TILE, {4, 4, 32}, DataType::FLOAT32);
}

TEST(QkvHeads, CreateDecodeAndConcatRoundTrip) {
  for (const std::string device : {"cpu", "ttnn:n150"}) {
    auto dev = Device::open(device);
    ExecContext ctx{*dev, ThreadPool::global(), 0};
    const bool ttnn = dev->spec().is_ttnn();
    const DataType dt = ttnn ? DataType::BFLOAT16 : DataType::FLOAT32;
    const Layout layout = ttnn ? Layout::TILE : Layout::ROW_MAJOR;
    const int64_t b = 5, nh = 8, nkv = 2, hd = ttnn ? 64 : 8, width = (nh + 2 * nkv) * hd;
    const auto values = test::random_values(static_cast<std::size_t>(b * width), 8);
    CreateQkvHeadsArgs args{TensorSpec{"fused", Shape{1, b, width}, dt, layout, {}}, nh, nkv, hd};
    const OpConfig cfg = config_for(dt, layout);
    CreateQkvHeadsDecodeOp::validate(args, cfg, dev->spec());
    const QkvSpecs specs = CreateQkvHeadsDecodeOp::output_specs(args, cfg);
    EXPECT_EQ(specs.q.shape, (Shape{1, b, nh, hd}));
    EXPECT_EQ(specs.v.shape, (Shape{1, b, nkv, hd}));
    Tensor in = test::make_tensor(values, args.input.shape, dt, layout);
    Tensor q = Tensor::empty(specs.q), k = Tensor::empty(specs.k), v = Tensor::empty(specs.v);
    CreateQkvHeadsDecodeOp::run(args, in, q, k, v, cfg, ctx);
    const auto seen = to_float(in), qo = to_float(q), ko = to_float(k), vo = to_float(v);
    for (int64_t u = 0; u < b; ++u)
      for (int64_t c = 0; c < nh * hd; ++c) ASSERT_EQ(qo[u * nh * hd + c], seen[u * width + c]) << device;
    for (int64_t u = 0; u < b; ++u)
      for (int64_t c = 0; c < nkv * hd; ++c) {
        ASSERT_EQ(ko[u * nkv * hd + c], seen[u * width + nh * hd + c]) << device;
        ASSERT_EQ(vo[u * nkv * hd + c], seen[u * width + (nh + nkv) * hd + c]) << device;
      }
    // Concatenating the q heads gives back the q part of every fused row.
    ConcatHeadsArgs cat{specs.q};
    ConcatHeadsDecodeOp::validate(cat, cfg, dev->spec());
    Tensor joined = Tensor::empty(ConcatHeadsDecodeOp::output_spec(cat, cfg));
    EXPECT_EQ(joined.shape(), (Shape{1, b, nh * hd}));
    ConcatHeadsDecodeOp::run(cat, q, joined, cfg, ctx);
    const auto jo = to_float(joined);
    for (int64_t u = 0; u < b; ++u)
      for (int64_t c = 0; c < nh * hd; ++c) ASSERT_EQ(jo[u * nh * hd + c], seen[u * width + c]) << device;
  }
}

TEST(QkvHeads, ConcatPrefillInterleavesHeadsPerToken) {
  for (const std::string device : {"cpu", "ttnn:n150"}) {
    auto dev = Device::open(device);
    ExecContext ctx{*dev, ThreadPool::global(), 0};
    const bool ttnn = dev->spec().is_ttnn();
    const DataType dt = ttnn ? DataType::BFLOAT8_B : DataType::BFLOAT16;
    const int64_t b = 2, nh = 3, s = 45, hd = ttnn ? 32 : 8;
    const Shape shape{b, nh, s, hd};
    const auto values = test::random_values(static_cast<std::size_t>(shape.volume()), 9);
    ConcatHeadsArgs args{TensorSpec{"heads", shape, dt, Layout::TILE, {}}};
    const OpConfig cfg = config_for(ttnn ? dt : DataType::FLOAT32, ttnn ? Layout::TILE : Layout::ROW_MAJOR);
    ConcatHeadsOp::validate(args, cfg, dev->spec());
    Tensor in = test::make_tensor(values, shape, dt, Layout::TILE);
    Tensor out = Tensor::empty(ConcatHeadsOp::output_spec(args, cfg));
    EXPECT_EQ(out.shape(), (Shape{b, s, nh * hd}));
    ConcatHeadsOp::run(args, in, out, cfg, ctx);
    const auto seen = to_float(in), got = to_float(out);
    // bfp8 -> bfp8 on ttnn: with head_dim 32 each face row keeps its 16 values together.
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < nh; ++h)
        for (int64_t t = 0; t < s; ++t)
          for (int64_t c = 0; c < hd; ++c)
            ASSERT_EQ(got[(bi * s + t) * nh * hd + h * hd + c], seen[((bi * nh + h) * s + t) * hd + c]) << device;
  }
}

// Head dims below a tile multiple (the bundled tiny models use 8) run on a device with the
// tile padding: the logical values move exactly and the padded columns stay zero.
TEST(QkvHeads, TtnnRunsHeadDimsBelowATileMultiple) {
  for (int64_t hd : {8, 16}) {
    check_create_prefill("ttnn:n150", DataType::BFLOAT16, Layout::TILE, {8, 4, hd}, DataType::BFLOAT16);
    check_create_prefill("ttnn:n150", DataType::FLOAT32, Layout::TILE, {4, 1, hd}, DataType::FLOAT32);
    // A bfp8 head is part of a face row: it re-encodes exactly under its own exponent.
    check_create_prefill("ttnn:n150", DataType::BFLOAT8_B, Layout::TILE, {4, 2, hd}, DataType::BFLOAT8_B);
  }
  auto dev = Device::open("ttnn:n150");
  ExecContext ctx{*dev, ThreadPool::global(), 0};
  for (int64_t hd : {8, 16}) {
    SCOPED_TRACE(testing::Message() << "hd " << hd);
    const OpConfig cfg = config_for(DataType::BFLOAT16, Layout::TILE);
    // Decode: split the fused rows of 5 users, then concatenate the q heads back.
    const int64_t b = 5, nh = 8, nkv = 4, width = (nh + 2 * nkv) * hd;
    const auto values = test::random_values(static_cast<std::size_t>(b * width), 10);
    CreateQkvHeadsArgs args{TensorSpec{"fused", Shape{1, b, width}, DataType::BFLOAT16, Layout::TILE, {}}, nh, nkv, hd};
    CreateQkvHeadsDecodeOp::validate(args, cfg, dev->spec());
    const QkvSpecs specs = CreateQkvHeadsDecodeOp::output_specs(args, cfg);
    Tensor in = test::make_tensor(values, args.input.shape, DataType::BFLOAT16, Layout::TILE);
    Tensor q = Tensor::empty(specs.q), k = Tensor::empty(specs.k), v = Tensor::empty(specs.v);
    CreateQkvHeadsDecodeOp::run(args, in, q, k, v, cfg, ctx);
    const auto seen = to_float(in), qo = to_float(q), ko = to_float(k), vo = to_float(v);
    for (int64_t u = 0; u < b; ++u) {
      for (int64_t c = 0; c < nh * hd; ++c) ASSERT_EQ(qo[u * nh * hd + c], seen[u * width + c]);
      for (int64_t c = 0; c < nkv * hd; ++c) {
        ASSERT_EQ(ko[u * nkv * hd + c], seen[u * width + nh * hd + c]);
        ASSERT_EQ(vo[u * nkv * hd + c], seen[u * width + (nh + nkv) * hd + c]);
      }
    }
    for (const Tensor* t : {&q, &k, &v}) EXPECT_TRUE(padding_is_zero(*t));
    ConcatHeadsArgs cat{specs.q};
    ConcatHeadsDecodeOp::validate(cat, cfg, dev->spec());
    Tensor joined = Tensor::empty(ConcatHeadsDecodeOp::output_spec(cat, cfg));
    ConcatHeadsDecodeOp::run(cat, q, joined, cfg, ctx);
    const auto jo = to_float(joined);
    for (int64_t u = 0; u < b; ++u)
      for (int64_t c = 0; c < nh * hd; ++c) ASSERT_EQ(jo[u * nh * hd + c], seen[u * width + c]);
    EXPECT_TRUE(padding_is_zero(joined));

    // Prefill concat, bf16 (exact) and bfp8: with heads narrower than a face row, values of
    // neighbouring heads share an exponent in the output, so they round as the format does.
    for (DataType dt : {DataType::BFLOAT16, DataType::BFLOAT8_B}) {
      const int64_t pb = 2, ph = 3, s = 45;
      const Shape shape{pb, ph, s, hd};
      const auto hv = test::random_values(static_cast<std::size_t>(shape.volume()), 11, -4.f, 4.f);
      ConcatHeadsArgs pargs{TensorSpec{"heads", shape, dt, Layout::TILE, {}}};
      const OpConfig pcfg = config_for(dt, Layout::TILE);
      ConcatHeadsOp::validate(pargs, pcfg, dev->spec());
      Tensor heads = test::make_tensor(hv, shape, dt, Layout::TILE);
      Tensor out = Tensor::empty(ConcatHeadsOp::output_spec(pargs, pcfg));
      ConcatHeadsOp::run(pargs, heads, out, pcfg, ctx);
      const auto hs = to_float(heads), got = to_float(out);
      std::vector<float> arranged(got.size());
      for (int64_t bi = 0; bi < pb; ++bi)
        for (int64_t h = 0; h < ph; ++h)
          for (int64_t t = 0; t < s; ++t)
            for (int64_t c = 0; c < hd; ++c)
              arranged[(bi * s + t) * ph * hd + h * hd + c] = hs[((bi * ph + h) * s + t) * hd + c];
      const auto want = test::quantized(arranged, out.shape(), dt, Layout::TILE);
      for (std::size_t x = 0; x < got.size(); ++x) ASSERT_EQ(got[x], static_cast<float>(want[x])) << to_string(dt);
      EXPECT_TRUE(padding_is_zero(out)) << to_string(dt);
    }
  }
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

TEST(QkvHeadsValidation, EachErrorNamesFieldValueAndFix) {
  const DeviceSpec cpu = Device::spec_for("cpu");
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const OpConfig tc = config_for(DataType::BFLOAT16, Layout::TILE);
  const CreateQkvHeadsArgs pre{TensorSpec{"fused", Shape{2, 64, 768}, DataType::BFLOAT16, Layout::TILE, {}}, 8, 2, 64};
  const CreateQkvHeadsArgs dec{TensorSpec{"fused", Shape{1, 8, 768}, DataType::BFLOAT16, Layout::TILE, {}}, 8, 2, 64};
  auto edit = [](CreateQkvHeadsArgs a, auto&& f) {
    f(a);
    return a;
  };
  expect_error([&] { CreateQkvHeadsOp::validate(edit(pre, [](auto& a) { a.input.shape[2] = 700; }), tc, cpu); },
               ErrorKind::ShapeMismatch,
               "create_qkv_heads: input width 700 (input.shape[2]) does not match (num_heads 8 + 2 x num_kv_heads 2) x head_dim 64 = 768");
  expect_error([&] { CreateQkvHeadsOp::validate(edit(pre, [](auto& a) { a.num_heads = 1, a.num_kv_heads = 2, a.input.shape[2] = 320; }), tc, cpu); },
               ErrorKind::InvalidConfig, "create_qkv_heads: num_heads 1 is smaller than num_kv_heads 2");
  expect_error([&] { CreateQkvHeadsOp::validate(edit(pre, [](auto& a) { a.head_dim = 0; }), tc, cpu); },
               ErrorKind::InvalidConfig, "num_heads 8, num_kv_heads 2 and head_dim 0 must be positive");
  expect_error([&] { CreateQkvHeadsOp::validate(edit(pre, [](auto& a) { a.input.shape = Shape{2, 64}; }), tc, cpu); },
               ErrorKind::ShapeMismatch, "create_qkv_heads: input has shape [2, 64] (rank 2)");
  expect_error([&] { CreateQkvHeadsOp::validate(pre, config_for(DataType::BFLOAT8_B, Layout::TILE), n150); },
               ErrorKind::InvalidConfig, "create_qkv_heads: output BFLOAT8_B TILE (dtype, layout) differs from the input's BFLOAT16 TILE");
  expect_error([&] { CreateQkvHeadsOp::validate(edit(pre, [](auto& a) { a.input.dtype = DataType::BFLOAT4_B; }), tc, n150); },
               ErrorKind::InvalidConfig, "create_qkv_heads: input dtype BFLOAT4_B is not supported; use one of FLOAT32, BFLOAT16, BFLOAT8_B");
  expect_error([&] { CreateQkvHeadsDecodeOp::validate(edit(dec, [](auto& a) { a.input.shape[0] = 2; }), tc, cpu); },
               ErrorKind::ShapeMismatch, "create_qkv_heads_decode: decode input has shape [2, 8, 768]; expected [1, batch, width]");
  expect_error([&] { CreateQkvHeadsDecodeOp::validate(edit(dec, [](auto& a) { a.input.shape[1] = 33; }), tc, n150); },
               ErrorKind::InvalidConfig, "create_qkv_heads_decode: batch 33 (input.shape[1]) exceeds the 32 users decode supports");
  expect_error([&] { CreateQkvHeadsDecodeOp::validate(edit(dec, [](auto& a) { a.num_heads = 40, a.input.shape[2] = 2816; }), tc, n150); },
               ErrorKind::InvalidConfig, "create_qkv_heads_decode: num_heads 40 exceeds the 32 heads decode supports");
  expect_error([&] { CreateQkvHeadsDecodeOp::validate(edit(dec, [](auto& a) { a.input.dtype = DataType::BFLOAT8_B; }), tc, n150); },
               ErrorKind::InvalidConfig, "create_qkv_heads_decode: input dtype BFLOAT8_B is not supported; use one of FLOAT32, BFLOAT16");

  const ConcatHeadsArgs cat{TensorSpec{"heads", Shape{1, 8, 8, 64}, DataType::BFLOAT16, Layout::TILE, {}}};
  expect_error([&] { ConcatHeadsOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{8, 64}, DataType::BFLOAT16, Layout::TILE, {}}}, tc, cpu); },
               ErrorKind::ShapeMismatch, "concat_heads: input has shape [8, 64] (rank 2); expected [batch, num_heads, seq, head_dim]");
  expect_error([&] { ConcatHeadsOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{1, 8, 8, 64}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}}}, tc, n150); },
               ErrorKind::InvalidConfig, "concat_heads: input is in ROW_MAJOR layout (input.layout); ttnn takes TILE");
  expect_error([&] { ConcatHeadsDecodeOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{2, 8, 8, 64}, DataType::BFLOAT16, Layout::TILE, {}}}, tc, cpu); },
               ErrorKind::ShapeMismatch, "concat_heads_decode: decode input has shape [2, 8, 8, 64]");
  expect_error([&] { ConcatHeadsDecodeOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{1, 8, 40, 64}, DataType::BFLOAT16, Layout::TILE, {}}}, tc, n150); },
               ErrorKind::InvalidConfig, "concat_heads_decode: num_heads 40 (input.shape[2]) exceeds the 32 padded heads decode supports");
  expect_error([&] { ConcatHeadsOp::validate(cat, config_for(DataType::BFLOAT8_B, Layout::ROW_MAJOR), cpu); },
               ErrorKind::InvalidConfig, "concat_heads: output dtype BFLOAT8_B exists only in TILE layout");
  expect_error([&] { ConcatHeadsOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{1, 8, 8, 64}, DataType::BFLOAT4_B, Layout::TILE, {}}}, tc, n150); },
               ErrorKind::InvalidConfig, "concat_heads: input dtype BFLOAT4_B is not supported; use one of FLOAT32, BFLOAT16, BFLOAT8_B");
  expect_error([&] { ConcatHeadsDecodeOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{1, 33, 8, 64}, DataType::BFLOAT16, Layout::TILE, {}}}, tc, n150); },
               ErrorKind::InvalidConfig, "concat_heads_decode: batch 33 (input.shape[1]) exceeds the 32 users decode supports");
  expect_error([&] { ConcatHeadsDecodeOp::validate(ConcatHeadsArgs{TensorSpec{"h", Shape{1, 8, 8, 64}, DataType::BFLOAT8_B, Layout::TILE, {}}}, config_for(DataType::BFLOAT8_B, Layout::TILE), n150); },
               ErrorKind::InvalidConfig, "concat_heads_decode: input dtype BFLOAT8_B is not supported; use one of FLOAT32, BFLOAT16");
  ConcatHeadsDecodeOp::validate(cat, tc, n150);
}

TEST(QkvHeads, CostIsDataMovementOnly) {
  const CreateQkvHeadsArgs a{TensorSpec{"fused", Shape{1, 2048, 3072}, DataType::BFLOAT16, Layout::TILE, {}}, 32, 8, 64};
  const Cost c = CreateQkvHeadsOp::cost(a, config_for(DataType::BFLOAT16, Layout::TILE), Device::spec_for("ttnn:n150"));
  EXPECT_EQ(c.compute_s, 0.0);
  EXPECT_GT(c.dram_s, 0.0);
}

}  // namespace
}  // namespace ttt::ops
