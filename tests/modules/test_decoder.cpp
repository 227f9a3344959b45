// DecoderLayer and Transformer against the double-precision reference: cpu with FLOAT32
// and default weights, ttnn:n150 with its defaults. The Transformer test prefills users
// of different prompt lengths into their own cache rows, then decodes them together,
// each at its own position. Thresholds: docs/modules.md.
#include <gtest/gtest.h>

#include "module_reference.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

using test::Vec;

struct StackCase {
  const char* name;
  const char* device;
  bool fp32;  // FLOAT32 weights and KV cache (cpu)
  int64_t hidden, heads, kv_heads, head_dim;
  double min_pcc;
};

ModuleHardwareConfig stack_config(const StackCase& c, bool lm_head) {
  if (!c.fp32) return ModuleHardwareConfig{};
  std::vector<std::string> ops{"qkv_matmul", "out_matmul", "ff1_matmul", "ff3_matmul", "ff2_matmul"};
  if (lm_head) ops.push_back("lm_head_matmul");
  return ModuleHardwareConfig::from_yaml_string(test::fp32_weights_yaml(ops, true));
}

class StackAccuracy : public ::testing::TestWithParam<StackCase> {};

TEST_P(StackAccuracy, DecoderLayerMatchesReference) {
  const StackCase& c = GetParam();
  const TransformerSpec spec = test::small_spec(1, c.hidden, c.heads, c.kv_heads, c.head_dim, 2 * c.hidden, 64);
  auto weights = test::random_llama_weights(spec, 23);
  auto device = Device::open(c.device);
  const DeviceSpec& d = device->spec();
  DecoderLayer layer(spec.layer, device, stack_config(c, false),
                     std::make_shared<PrefixedWeightSource>(weights, "model.layers.0."));
  const int64_t h = c.hidden, users = 2, seq = 10;
  layer.compile_decode(DecodeShape{users, 64});
  layer.compile(PrefillShape{users, seq});

  const Shape ps{users, seq, h};
  const auto xp = test::input_values(static_cast<std::size_t>(ps.volume()), 81);
  const auto yp = to_float(layer.forward_prefill(test::activation(xp, ps, d)));
  const Vec xs = test::seen(xp, ps, d);
  std::vector<std::unique_ptr<test::RefDecoderLayer>> ref;
  Vec rp;
  for (int64_t u = 0; u < users; ++u) {
    ref.push_back(std::make_unique<test::RefDecoderLayer>(spec.layer, *weights, "model.layers.0."));
    const Vec r = ref.back()->feed(test::rows_of(xs, h, u * seq, seq), seq);
    rp.insert(rp.end(), r.begin(), r.end());
  }
  const double pp = test::pcc_of(yp, rp);
  fmt::print("[pcc] decoder_layer prefill {}: {:.7f} (max abs {:.2e})\n", c.name, pp, test::max_abs_of(yp, rp));
  EXPECT_GE(pp, c.min_pcc);

  const Shape ds{1, users, h};
  const auto xd = test::input_values(static_cast<std::size_t>(ds.volume()), 82);
  const std::vector<int32_t> pos(static_cast<std::size_t>(users), static_cast<int32_t>(seq));
  const auto yd = to_float(layer.forward_decode(test::activation(xd, ds, d), pos));
  const Vec xds = test::seen(xd, ds, d);
  Vec rd;
  for (int64_t u = 0; u < users; ++u) {
    const Vec r = ref[static_cast<std::size_t>(u)]->feed(test::rows_of(xds, h, u, 1), 1);
    rd.insert(rd.end(), r.begin(), r.end());
  }
  const double pd = test::pcc_of(yd, rd);
  fmt::print("[pcc] decoder_layer decode {}: {:.7f} (max abs {:.2e})\n", c.name, pd, test::max_abs_of(yd, rd));
  EXPECT_GE(pd, c.min_pcc);
}

TEST_P(StackAccuracy, TransformerMatchesReferenceWithUsersAtDifferentPositions) {
  const StackCase& c = GetParam();
  const int64_t vocab = 256;
  const TransformerSpec spec = test::small_spec(2, c.hidden, c.heads, c.kv_heads, c.head_dim, 2 * c.hidden, vocab);
  auto weights = test::random_llama_weights(spec, 29);
  Transformer model(spec, Device::open(c.device), stack_config(c, true), weights);
  const std::vector<std::vector<int32_t>> prompts{{1, 17, 200, 45, 3, 99, 250, 7, 64}, {5, 6, 7, 255}};
  const int64_t users = static_cast<int64_t>(prompts.size());
  model.compile_decode(DecodeShape{users, 64});
  model.compile(PrefillShape{1, 9});

  std::vector<std::unique_ptr<test::RefTransformer>> ref;
  std::vector<int32_t> pos;
  for (int64_t u = 0; u < users; ++u) {
    const auto& prompt = prompts[static_cast<std::size_t>(u)];
    const auto logits = to_float(model.forward_prefill(prompt, 1, u));
    ASSERT_EQ(logits.size(), static_cast<std::size_t>(vocab));
    ref.push_back(std::make_unique<test::RefTransformer>(spec, *weights));
    const Vec r = ref.back()->feed(prompt);
    const double p = test::pcc_of(logits, test::rows_of(r, vocab, static_cast<int64_t>(prompt.size()) - 1, 1));
    fmt::print("[pcc] transformer prefill {} user {}: {:.7f}\n", c.name, u, p);
    EXPECT_GE(p, c.min_pcc);
    pos.push_back(static_cast<int32_t>(prompt.size()));
  }
  const std::vector<std::vector<int32_t>> steps{{10, 20}, {30, 40}, {50, 60}};
  for (const auto& ids : steps) {
    const auto logits = to_float(model.forward_decode(ids, pos));
    ASSERT_EQ(logits.size(), static_cast<std::size_t>(users * vocab));
    for (int64_t u = 0; u < users; ++u) {
      const Vec r = ref[static_cast<std::size_t>(u)]->feed({ids[static_cast<std::size_t>(u)]});
      const double p = test::pcc_of(test::rows_of(logits, vocab, u, 1), r);
      fmt::print("[pcc] transformer decode {} user {} pos {}: {:.7f}\n", c.name, u, pos[static_cast<std::size_t>(u)],
                 p);
      EXPECT_GE(p, c.min_pcc);
    }
    for (auto& p : pos) ++p;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, StackAccuracy,
                         ::testing::Values(StackCase{"cpu_fp32", "cpu", true, 128, 4, 2, 32, 0.9999},
                                           StackCase{"cpu_bf16", "cpu", false, 128, 4, 2, 32, 0.9999},
                                           StackCase{"n150_mha_hd64", "ttnn:n150", false, 128, 2, 2, 64, 0.999},
                                           StackCase{"n150_gqa4", "ttnn:n150", false, 256, 8, 2, 32, 0.999}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ttt
