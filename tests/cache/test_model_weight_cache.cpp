// The weight cache under a whole module tree: a warm start converts nothing and gives
// bit-identical outputs; changing one op's weight dtype rebuilds only that op's weights.
#include <gtest/gtest.h>

#include "../modules/module_test_util.hpp"
#include "cache_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/generator.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

struct Built {
  std::vector<float> logits;
  TensorCacheStats stats;
};

Built build_and_run(const TransformerSpec& spec, const std::shared_ptr<const WeightSource>& weights,
                    const std::string& dir, const ModuleHardwareConfig& hw) {
  auto device = Device::open("cpu");
  TensorCacheConfig cc;
  cc.cache_dir = dir;
  cc.cache_namespace = "model";
  auto cache = std::make_shared<TensorCacheManager>(device, cc);
  Transformer model(spec, device, hw, weights, cached_weight_loader(cache));
  model.compile_decode(DecodeShape{1, 16});
  model.compile(PrefillShape{1, 4});
  const std::vector<int32_t> prompt{1, 7, 42, 99};
  Built b;
  b.logits = to_float(model.forward_prefill(prompt, 1));
  b.stats = cache->stats();
  return b;
}

TEST(ModelWeightCache, WarmStartIsBitIdenticalAndConvertsNothing) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 2;
  auto weights = test::random_llama_weights(spec);
  test::TempDir dir;
  const Built cold = build_and_run(spec, weights, dir.path().string(), {});
  EXPECT_GT(cold.stats.misses, 0);
  EXPECT_EQ(cold.stats.hits, 0);
  const Built warm = build_and_run(spec, weights, dir.path().string(), {});
  EXPECT_EQ(warm.stats.misses, 0);
  EXPECT_EQ(warm.stats.hits, cold.stats.misses);
  ASSERT_EQ(warm.logits.size(), cold.logits.size());
  EXPECT_EQ(std::memcmp(warm.logits.data(), cold.logits.data(), cold.logits.size() * sizeof(float)), 0);
}

TEST(ModelWeightCache, ChangingOneOpsDtypeRebuildsOnlyItsWeights) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 2;
  auto weights = test::random_llama_weights(spec);
  test::TempDir dir;
  const Built cold = build_and_run(spec, weights, dir.path().string(), {});
  // ff1 of layer 0 only, in bfloat8_b.
  const auto hw = ModuleHardwareConfig::from_yaml_string(
      "ops:\n  layers.0.mlp.ff1_matmul:\n    weights_dtype: BFLOAT8_B\n", "cpu", "override.yaml");
  const Built changed = build_and_run(spec, weights, dir.path().string(), hw);
  EXPECT_EQ(changed.stats.misses, 1) << "only layers.0.mlp.ff1_matmul.weight is converted again";
  EXPECT_EQ(changed.stats.hits, cold.stats.misses - 1);
}

TEST(ModelWeightCache, ChangedCheckpointBytesMissTheCache) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 1;
  test::TempDir dir;
  const Built first = build_and_run(spec, test::random_llama_weights(spec, 1), dir.path().string(), {});
  // Same names and shapes, other values: content-keyed, so nothing stale is reused.
  const Built second = build_and_run(spec, test::random_llama_weights(spec, 2), dir.path().string(), {});
  EXPECT_EQ(second.stats.hits, 0);
  EXPECT_EQ(second.stats.misses, first.stats.misses);
}

}  // namespace
}  // namespace ttt
