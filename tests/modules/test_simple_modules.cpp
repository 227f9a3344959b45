// RMSNorm, Embedding and LMHead against double-precision references, in both modes, on
// cpu (exact FLOAT32 weights, then the bf16 defaults) and on ttnn:n150 (its defaults).
// The thresholds are the ones docs/modules.md lists.
#include <gtest/gtest.h>

#include "module_reference.hpp"
#include "ttt/modules/simple_modules.hpp"

namespace ttt {
namespace {

using test::Vec;

struct Target {
  const char* device;
  bool fp32;       // FLOAT32 weights (cpu only)
  double min_pcc;  // against the double reference
};

std::string label(const Target& t) { return fmt::format("{}{}", t.device, t.fp32 ? " fp32" : ""); }

ModuleHardwareConfig config_for(const Target& t, const std::vector<std::string>& weight_ops) {
  if (!t.fp32) return ModuleHardwareConfig{};
  return ModuleHardwareConfig::from_yaml_string(test::fp32_weights_yaml(weight_ops, false));
}

const Target kTargets[] = {{"cpu", true, 0.9999}, {"cpu", false, 0.9999}, {"ttnn:n150", false, 0.999}};

TEST(RMSNormModule, MatchesReferenceInBothModes) {
  const int64_t dim = 256;
  auto w = std::make_shared<MapWeightSource>();
  auto gamma = random_weight(Shape{dim}, 3, "weight", 0.2f);
  for (auto& g : gamma) g += 1.0f;
  w->add("weight", Shape{dim}, gamma);
  const Vec g(gamma.begin(), gamma.end());
  for (const Target& t : kTargets) {
    SCOPED_TRACE(label(t));
    auto device = Device::open(t.device);
    RMSNorm norm(RMSNormSpec{dim, 1e-5}, device, config_for(t, {"rms_norm"}), w);
    norm.compile_decode(DecodeShape{3, 64});
    norm.compile(PrefillShape{2, 20});
    const Shape ps{2, 20, dim}, ds{1, 3, dim};
    const auto xp = test::input_values(static_cast<std::size_t>(ps.volume()), 1);
    const auto yp = to_float(norm.forward_prefill(test::activation(xp, ps, device->spec())));
    const Vec rp = test::ref_rms_norm(test::seen(xp, ps, device->spec()), 40, dim, g, 1e-5);
    const double pp = test::pcc_of(yp, rp);
    fmt::print("[pcc] rms_norm prefill {}: {:.7f}\n", label(t), pp);
    EXPECT_GE(pp, t.min_pcc);
    // A shorter prompt than compiled for runs on views of the same buffers.
    const Shape short_shape{1, 7, dim};
    const std::vector<float> xs(xp.begin(), xp.begin() + 7 * dim);
    const auto ys = to_float(norm.forward_prefill(test::activation(xs, short_shape, device->spec())));
    ASSERT_EQ(ys.size(), static_cast<std::size_t>(7 * dim));
    EXPECT_GE(test::pcc_of(ys, test::rows_of(rp, dim, 0, 7)), t.min_pcc);

    const auto xd = test::input_values(static_cast<std::size_t>(ds.volume()), 2);
    const auto yd = to_float(norm.forward_decode(test::activation(xd, ds, device->spec())));
    const double pd = test::pcc_of(yd, test::ref_rms_norm(test::seen(xd, ds, device->spec()), 3, dim, g, 1e-5));
    fmt::print("[pcc] rms_norm decode {}: {:.7f}\n", label(t), pd);
    EXPECT_GE(pd, t.min_pcc);
  }
}

TEST(EmbeddingModule, GathersRowsOfTheTable) {
  const int64_t vocab = 300, dim = 128;
  auto w = std::make_shared<MapWeightSource>();
  const auto table = random_weight(Shape{vocab, dim}, 5, "weight", 1.0f);
  w->add("weight", Shape{vocab, dim}, table);
  for (const Target& t : kTargets) {
    SCOPED_TRACE(label(t));
    auto device = Device::open(t.device);
    Embedding emb(EmbeddingSpec{vocab, dim}, device, config_for(t, {"embedding"}), w);
    emb.compile_decode(DecodeShape{3, 64});
    emb.compile(PrefillShape{2, 5});
    const std::vector<int32_t> ids{0, 7, 299, 12, 12, 150, 3, 1, 2, 298};
    const auto yp = to_float(emb.forward_prefill(ids, 2));
    ASSERT_EQ(yp.size(), ids.size() * dim);
    Vec ref;
    for (int32_t id : ids) ref.insert(ref.end(), table.begin() + id * dim, table.begin() + (id + 1) * dim);
    const double pp = test::pcc_of(yp, ref);
    fmt::print("[pcc] embedding prefill {}: {:.7f}\n", label(t), pp);
    EXPECT_GE(pp, t.min_pcc);
    if (t.fp32) {
      EXPECT_EQ(test::max_abs_of(yp, ref), 0.0);  // a gather is exact
    }
    const std::vector<int32_t> dec{42, 0, 299};
    const auto yd = to_float(emb.forward_decode(dec));
    Vec rd;
    for (int32_t id : dec) rd.insert(rd.end(), table.begin() + id * dim, table.begin() + (id + 1) * dim);
    EXPECT_GE(test::pcc_of(yd, rd), t.min_pcc);
  }
}

TEST(LMHeadModule, MatchesReferenceInBothModes) {
  const int64_t vocab = 320, dim = 128;
  auto w = std::make_shared<MapWeightSource>();
  w->add("weight", Shape{vocab, dim}, random_weight(Shape{vocab, dim}, 9, "weight", 0.09f));
  const Vec wd = test::load_double(*w, "weight");
  for (const Target& t : kTargets) {
    SCOPED_TRACE(label(t));
    auto device = Device::open(t.device);
    LMHead head(LMHeadSpec{dim, vocab, false}, device, config_for(t, {"lm_head_matmul"}), w);
    head.compile_decode(DecodeShape{3, 64});
    head.compile(PrefillShape{2, 16});
    // Prefill computes logits for one row per user.
    const Shape ps{2, 1, dim}, ds{1, 3, dim};
    const auto xp = test::input_values(static_cast<std::size_t>(ps.volume()), 11);
    const auto yp = to_float(head.forward_prefill(test::activation(xp, ps, device->spec())));
    const double pp = test::pcc_of(yp, test::ref_linear(test::seen(xp, ps, device->spec()), 2, wd, vocab, dim));
    fmt::print("[pcc] lm_head prefill {}: {:.7f}\n", label(t), pp);
    EXPECT_GE(pp, t.min_pcc);
    const auto xd = test::input_values(static_cast<std::size_t>(ds.volume()), 12);
    const auto yd = to_float(head.forward_decode(test::activation(xd, ds, device->spec())));
    const double pd = test::pcc_of(yd, test::ref_linear(test::seen(xd, ds, device->spec()), 3, wd, vocab, dim));
    fmt::print("[pcc] lm_head decode {}: {:.7f}\n", label(t), pd);
    EXPECT_GE(pd, t.min_pcc);
  }
}

}  // namespace
}  // namespace ttt
