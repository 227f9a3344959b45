// MultiHeadAttention (MHA and GQA, with and without qkv bias) against the
// double-precision reference: prefill of a batch, decode after it, prefill of N tokens
// then one decode step against prefill of N + 1, and a batch of users decoding at
// different positions against each user's single-user run. cpu with FLOAT32 and with
// default weights, ttnn:n150 with its defaults. Thresholds: docs/modules.md.
#include <gtest/gtest.h>

#include "module_reference.hpp"
#include "ttt/modules/attention.hpp"

namespace ttt {
namespace {

using test::Vec;

struct AttnCase {
  const char* name;
  const char* device;
  bool fp32;  // FLOAT32 weights and KV cache (cpu)
  int64_t hidden, heads, kv_heads, head_dim;
  bool bias;
  double min_pcc;        // module against the reference
  double min_pcc_paths;  // decode step against prefill of N + 1, batched decode against single-user
};

struct AttnFixture {
  TransformerSpec spec;
  std::shared_ptr<MapWeightSource> weights;
  std::shared_ptr<const WeightSource> layer;  // "model.layers.0.self_attn."
  std::shared_ptr<Device> device;
  ModuleHardwareConfig hw;

  explicit AttnFixture(const AttnCase& c)
      : spec(test::small_spec(1, c.hidden, c.heads, c.kv_heads, c.head_dim, 2 * c.hidden, 64, c.bias)),
        weights(test::random_llama_weights(spec, 17)),
        layer(std::make_shared<PrefixedWeightSource>(weights, "model.layers.0.self_attn.")),
        device(Device::open(c.device)) {
    if (c.fp32)
      hw = ModuleHardwareConfig::from_yaml_string(test::fp32_weights_yaml({"qkv_matmul", "out_matmul"}, true));
  }
  const AttentionSpec& attn() const { return spec.layer.attention; }
  std::unique_ptr<MultiHeadAttention> make() const {
    return std::make_unique<MultiHeadAttention>(attn(), device, hw, layer);
  }
  Tensor input(const std::vector<float>& v, const Shape& s) const { return test::activation(v, s, device->spec()); }
  Vec seen(const std::vector<float>& v, const Shape& s) const { return test::seen(v, s, device->spec()); }
};

class AttentionAccuracy : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionAccuracy, PrefillOfABatchThenDecodeMatchReference) {
  const AttnCase& c = GetParam();
  const AttnFixture f(c);
  auto m = f.make();
  const int64_t h = c.hidden, users = 2, seq = 12;
  m->compile_decode(DecodeShape{users, 64});
  m->compile(PrefillShape{users, seq});

  const Shape ps{users, seq, h};
  const auto xp = test::input_values(static_cast<std::size_t>(ps.volume()), 41);
  const auto yp = to_float(m->forward_prefill(f.input(xp, ps)));
  const Vec xs = f.seen(xp, ps);
  std::vector<test::RefAttention> ref;
  Vec rp;
  for (int64_t u = 0; u < users; ++u) {
    ref.emplace_back(f.attn(), *f.layer);
    const Vec r = ref.back().feed(test::rows_of(xs, h, u * seq, seq), seq);
    rp.insert(rp.end(), r.begin(), r.end());
  }
  const double pp = test::pcc_of(yp, rp);
  fmt::print("[pcc] attention prefill {}: {:.7f} (max abs {:.2e})\n", c.name, pp, test::max_abs_of(yp, rp));
  EXPECT_GE(pp, c.min_pcc);

  // Two decode steps of both users, from the caches the prefill filled.
  for (int step = 0; step < 2; ++step) {
    const Shape ds{1, users, h};
    const auto xd = test::input_values(static_cast<std::size_t>(ds.volume()), 42 + static_cast<uint64_t>(step));
    const std::vector<int32_t> pos(static_cast<std::size_t>(users), static_cast<int32_t>(seq + step));
    const auto yd = to_float(m->forward_decode(f.input(xd, ds), pos));
    const Vec xds = f.seen(xd, ds);
    Vec rd;
    for (int64_t u = 0; u < users; ++u) {
      const Vec r = ref[static_cast<std::size_t>(u)].feed(test::rows_of(xds, h, u, 1), 1);
      rd.insert(rd.end(), r.begin(), r.end());
    }
    const double pd = test::pcc_of(yd, rd);
    fmt::print("[pcc] attention decode {} step {}: {:.7f} (max abs {:.2e})\n", c.name, step, pd,
               test::max_abs_of(yd, rd));
    EXPECT_GE(pd, c.min_pcc);
  }
}

TEST_P(AttentionAccuracy, PrefillThenOneDecodeStepEqualsLongerPrefill) {
  const AttnCase& c = GetParam();
  const AttnFixture f(c);
  auto m = f.make();
  const int64_t h = c.hidden, n = 11;
  m->compile_decode(DecodeShape{1, 64});
  m->compile(PrefillShape{1, n + 1});
  const auto x = test::input_values(static_cast<std::size_t>((n + 1) * h), 51);
  const auto full = to_float(m->forward_prefill(f.input(x, Shape{1, n + 1, h})));
  const std::vector<float> last_full = test::rows_of(full, h, n, 1);

  const std::vector<float> head(x.begin(), x.begin() + n * h), tail(x.begin() + n * h, x.end());
  m->forward_prefill(f.input(head, Shape{1, n, h}));
  const std::vector<int32_t> pos{static_cast<int32_t>(n)};
  const auto step = to_float(m->forward_decode(f.input(tail, Shape{1, 1, h}), pos));

  const double p = test::pcc_of(step, last_full);
  const double diff = test::max_abs_of(step, Vec(last_full.begin(), last_full.end()));
  fmt::print("[pcc] attention prefill {}+1 vs decode {}: {:.7f} (max abs {:.2e})\n", n, c.name, p, diff);
  EXPECT_GE(p, c.min_pcc_paths);
  if (c.fp32) {
    EXPECT_LT(diff, 1e-5);
  }
  // And both against the reference.
  test::RefAttention ref(f.attn(), *f.layer);
  const Vec r = ref.feed(f.seen(x, Shape{1, n + 1, h}), n + 1);
  EXPECT_GE(test::pcc_of(step, test::rows_of(r, h, n, 1)), c.min_pcc);
}

TEST_P(AttentionAccuracy, UsersAtDifferentPositionsDecodeLikeSingleUsers) {
  const AttnCase& c = GetParam();
  const AttnFixture f(c);
  const int64_t h = c.hidden;
  const std::vector<int64_t> lengths{5, 11, 2};
  const int64_t users = static_cast<int64_t>(lengths.size());
  std::vector<std::vector<float>> prompts;
  for (int64_t u = 0; u < users; ++u)
    prompts.push_back(test::input_values(static_cast<std::size_t>(lengths[static_cast<std::size_t>(u)] * h),
                                         60 + static_cast<uint64_t>(u)));
  const Shape ds{1, users, h};
  const auto step0 = test::input_values(static_cast<std::size_t>(ds.volume()), 70);
  const auto step1 = test::input_values(static_cast<std::size_t>(ds.volume()), 71);

  // All users together: each prefilled alone into its own cache row, then decoded at once.
  auto batched = f.make();
  batched->compile_decode(DecodeShape{users, 64});
  batched->compile(PrefillShape{1, 11});
  std::vector<int32_t> pos;
  for (int64_t u = 0; u < users; ++u) {
    const int64_t len = lengths[static_cast<std::size_t>(u)];
    batched->forward_prefill(f.input(prompts[static_cast<std::size_t>(u)], Shape{1, len, h}), u);
    pos.push_back(static_cast<int32_t>(len));
  }
  const auto b0 = to_float(batched->forward_decode(f.input(step0, ds), pos));
  for (auto& p : pos) ++p;
  const auto b1 = to_float(batched->forward_decode(f.input(step1, ds), pos));

  for (int64_t u = 0; u < users; ++u) {
    SCOPED_TRACE(fmt::format("user {}", u));
    const int64_t len = lengths[static_cast<std::size_t>(u)];
    auto single = f.make();
    single->compile_decode(DecodeShape{1, 64});
    single->compile(PrefillShape{1, len});
    single->forward_prefill(f.input(prompts[static_cast<std::size_t>(u)], Shape{1, len, h}));
    const std::vector<float> x0 = test::rows_of(step0, h, u, 1), x1 = test::rows_of(step1, h, u, 1);
    std::vector<int32_t> p1{static_cast<int32_t>(len)};
    const auto s0 = to_float(single->forward_decode(f.input(x0, Shape{1, 1, h}), p1));
    ++p1[0];
    const auto s1 = to_float(single->forward_decode(f.input(x1, Shape{1, 1, h}), p1));
    const double q0 = test::pcc_of(test::rows_of(b0, h, u, 1), s0);
    const double q1 = test::pcc_of(test::rows_of(b1, h, u, 1), s1);
    fmt::print("[pcc] attention batched vs single {} user {}: {:.7f} {:.7f}\n", c.name, u, q0, q1);
    EXPECT_GE(q0, c.min_pcc_paths);
    EXPECT_GE(q1, c.min_pcc_paths);

    test::RefAttention ref(f.attn(), *f.layer);
    ref.feed(f.seen(prompts[static_cast<std::size_t>(u)], Shape{1, len, h}), len);
    const Vec r0 = ref.feed(f.seen(x0, Shape{1, 1, h}), 1);
    const Vec r1 = ref.feed(f.seen(x1, Shape{1, 1, h}), 1);
    EXPECT_GE(test::pcc_of(test::rows_of(b0, h, u, 1), r0), c.min_pcc);
    EXPECT_GE(test::pcc_of(test::rows_of(b1, h, u, 1), r1), c.min_pcc);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Devices, AttentionAccuracy,
    ::testing::Values(
        // name, device, fp32, hidden, heads, kv heads, head_dim, bias, min pcc, min pcc between paths
        AttnCase{"cpu_fp32_mha", "cpu", true, 128, 4, 4, 32, false, 0.9999, 0.99999},
        AttnCase{"cpu_fp32_gqa4", "cpu", true, 256, 8, 2, 32, false, 0.9999, 0.99999},
        AttnCase{"cpu_fp32_gqa8_bias", "cpu", true, 256, 8, 1, 32, true, 0.9999, 0.99999},
        AttnCase{"cpu_fp32_gqa4_hd8", "cpu", true, 64, 8, 2, 8, true, 0.9999, 0.99999},
        AttnCase{"cpu_bf16_mha", "cpu", false, 128, 4, 4, 32, false, 0.9999, 0.9999},
        AttnCase{"cpu_bf16_gqa4_bias", "cpu", false, 256, 8, 2, 32, true, 0.9999, 0.9999},
        AttnCase{"n150_mha_hd64", "ttnn:n150", false, 128, 2, 2, 64, false, 0.999, 0.999},
        AttnCase{"n150_gqa4", "ttnn:n150", false, 256, 8, 2, 32, false, 0.999, 0.999},
        AttnCase{"n150_gqa8", "ttnn:n150", false, 256, 8, 1, 32, false, 0.999, 0.999},
        AttnCase{"n150_gqa4_bias", "ttnn:n150", false, 256, 8, 2, 32, true, 0.999, 0.999}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ttt
