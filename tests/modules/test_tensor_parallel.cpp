// Tensor parallel on multi-chip devices (n300: 2 chips, t3k: 8): attention heads, MLP
// columns and the LM head's vocabulary split over the chips, joined by all_reduce and
// all_gather. Outputs equal the single-chip emulation within the formats' tolerance; each
// chip holds its own shards (separate cached tensors) and buffers.
#include <gtest/gtest.h>

#include <filesystem>

#include "../error_test_util.hpp"
#include "../models/model_test_util.hpp"
#include "module_reference.hpp"
#include "module_test_util.hpp"
#include "ttt/allocator.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/generator.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/safetensors.hpp"
#include "ttt/modules/tensor_parallel.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

// Logits of a prompt's last token, then of `forced` tokens fed one by one (the same
// tokens on every device, so the steps compare).
std::vector<std::vector<float>> forced_logits(Transformer& model, const std::vector<int32_t>& prompt,
                                              const std::vector<int32_t>& forced) {
  model.compile_decode(DecodeShape{1, 64});
  model.compile(PrefillShape{1, static_cast<int64_t>(prompt.size())});
  std::vector<std::vector<float>> out{to_float(model.forward_prefill(prompt, 1))};
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int32_t id : forced) {
    const int32_t ids[1] = {id};
    const int32_t positions[1] = {pos++};
    out.push_back(to_float(model.forward_decode(ids, positions)));
  }
  return out;
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

using test::invalid_config_message;

ResolvedOp find_op(const Module& m, Mode mode, const std::string& path) {
  for (const auto& r : m.all_ops(mode))
    if (r.path == path) return r;
  ADD_FAILURE() << "no op " << path;
  return {};
}

bool has_op(const Module& m, Mode mode, const std::string& path) {
  for (const auto& r : m.all_ops(mode))
    if (r.path == path) return true;
  return false;
}

struct Bundled {
  TransformerSpec spec;
  std::shared_ptr<const WeightSource> weights;
};

Bundled bundled(const char* name) {
  const auto dir = test::model_path(name);
  return {load_model_config(dir).spec, std::make_shared<SafetensorsWeights>(SafetensorsWeights::open(dir))};
}

// Each multi-chip device against n150, step by step: logits PCC and top-1.
void expect_matches_n150(const TransformerSpec& spec, const std::shared_ptr<const WeightSource>& weights,
                         const std::vector<int32_t>& prompt, const std::vector<int32_t>& forced, double min_pcc) {
  Transformer single(spec, Device::open("ttnn:n150"), ModuleHardwareConfig("ttnn:n150"), weights);
  const auto want = forced_logits(single, prompt, forced);
  for (const char* device : {"ttnn:n300", "ttnn:t3k"}) {
    Transformer split(spec, Device::open(device), ModuleHardwareConfig(device), weights);
    const auto got = forced_logits(split, prompt, forced);
    ASSERT_EQ(got.size(), want.size());
    int agree = 0;
    double worst = 1.0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      worst = std::min(worst, test::pcc_of(got[i], want[i]));
      agree += argmax(got[i]) == argmax(want[i]);
    }
    EXPECT_GE(worst, min_pcc) << device;
    EXPECT_GE(agree, static_cast<int>(got.size()) - 1) << device << ": top-1 agrees on " << agree << " of "
                                                        << got.size() << " steps";
    std::cout << "[ tp ] " << device << " vs ttnn:n150: worst logits PCC " << worst << ", top-1 " << agree << "/"
              << got.size() << "\n";
  }
}

TEST(TensorParallel, Stories260kOnN300AndT3kMatchesTheSingleChip) {
  const Bundled m = bundled("stories260K");
  expect_matches_n150(m.spec, m.weights, {1, 403, 407, 261, 378}, {25, 340, 400, 66, 300, 19}, 0.99);
}

TEST(TensorParallel, AidreamsOnT3kKeepsAttentionWholeAndMatches) {
  // 4 heads do not split over 8 chips: attention runs replicated, the MLP and LM head split.
  const Bundled m = bundled("aidreams260K");
  Transformer t3k(m.spec, Device::open("ttnn:t3k"), ModuleHardwareConfig("ttnn:t3k"), m.weights);
  EXPECT_EQ(t3k.layer(0).attention().chips(), 1);
  EXPECT_EQ(find_op(t3k, Mode::decode, "layers.0.attention.qkv_matmul").config.sharding, ChipSplit::REPLICATED);
  EXPECT_NE(find_op(t3k, Mode::decode, "layers.0.attention.qkv_matmul").rule.find("replicated"), std::string::npos);
  EXPECT_FALSE(has_op(t3k, Mode::decode, "layers.0.attention.all_reduce"));
  EXPECT_TRUE(has_op(t3k, Mode::decode, "layers.0.mlp.all_reduce"));
  expect_matches_n150(m.spec, m.weights, {1, 300, 42, 77}, {5, 101, 250}, 0.99);
}

TEST(TensorParallel, Llama1BShapedLayersOnN300AndT3kMatchTheSingleChip) {
  // Llama-3.2-1B's layer shapes (32 heads, 8 KV heads, 2048 x 8192 MLP) with two layers
  // and a 2048-token vocabulary: the split of real head counts, GQA groups and columns.
  TransformerSpec spec = builtin_spec("llama-3.2-1b");
  spec.num_layers = 2;
  spec.embedding.vocab_size = spec.lm_head.vocab_size = 2048;
  const auto weights = test::random_llama_weights(spec);
  expect_matches_n150(spec, weights, {1, 17, 400, 1999, 3}, {8, 1024}, 0.99);
}

TEST(TensorParallel, TheSplitIsInEachOpsConfig) {
  const TransformerSpec spec = builtin_spec("llama-3.1-8b");
  Transformer model(spec, Device::open("ttnn:t3k"), ModuleHardwareConfig("ttnn:t3k"));
  for (Mode mode : {Mode::prefill, Mode::decode}) {
    const ResolvedOp qkv = find_op(model, mode, "layers.0.attention.qkv_matmul");
    EXPECT_EQ(qkv.config.sharding, ChipSplit::COLUMN);
    EXPECT_EQ(qkv.shape.n, (32 / 8 + 2 * 8 / 8) * 128);  // 4 query heads and 1 KV head per chip
    EXPECT_EQ(find_op(model, mode, "layers.0.attention.out_matmul").config.sharding, ChipSplit::ROW);
    EXPECT_EQ(find_op(model, mode, "layers.0.mlp.ff1_matmul").config.sharding, ChipSplit::COLUMN);
    EXPECT_EQ(find_op(model, mode, "layers.0.mlp.ff1_matmul").shape.n, 14336 / 8);
    EXPECT_EQ(find_op(model, mode, "layers.0.mlp.ff2_matmul").config.sharding, ChipSplit::ROW);
    EXPECT_EQ(find_op(model, mode, "lm_head.lm_head_matmul").shape.n, 128256 / 8);
    EXPECT_TRUE(has_op(model, mode, "layers.0.attention.all_reduce"));
    EXPECT_TRUE(has_op(model, mode, "layers.31.mlp.all_reduce"));
    EXPECT_TRUE(has_op(model, mode, "lm_head.all_gather"));
    EXPECT_NE(qkv.rule.find("COLUMN split over 8 chips"), std::string::npos) << qkv.rule;
  }
  // One chip: nothing splits and no collective appears.
  Transformer single(spec, Device::open("ttnn:n150"), ModuleHardwareConfig("ttnn:n150"));
  EXPECT_EQ(find_op(single, Mode::decode, "layers.0.attention.qkv_matmul").config.sharding, ChipSplit::REPLICATED);
  EXPECT_FALSE(has_op(single, Mode::decode, "layers.0.attention.all_reduce"));
}

TEST(TensorParallel, SplitCanBeTurnedOffAndMismatchesAreErrors) {
  const Bundled m = bundled("stories260K");
  const auto off = ModuleHardwareConfig::from_yaml_string(
      "ops:\n  qkv_matmul: {sharding: REPLICATED}\n  out_matmul: {sharding: REPLICATED}\n", "ttnn:n300", "off.yaml");
  Transformer whole(m.spec, Device::open("ttnn:n300"), off, m.weights);
  EXPECT_EQ(whole.layer(0).attention().chips(), 1);
  EXPECT_FALSE(has_op(whole, Mode::decode, "layers.0.attention.all_reduce"));
  EXPECT_TRUE(has_op(whole, Mode::decode, "layers.0.mlp.all_reduce"));
  Transformer single(m.spec, Device::open("ttnn:n150"), ModuleHardwareConfig("ttnn:n150"), m.weights);
  const auto a = forced_logits(whole, {1, 403, 407}, {25});
  const auto b = forced_logits(single, {1, 403, 407}, {25});
  EXPECT_GE(test::pcc_of(a.back(), b.back()), 0.99);

  // Only one side of the pair: the other is reported, naming the deciding op.
  const auto half = ModuleHardwareConfig::from_yaml_string("ops:\n  out_matmul: {sharding: REPLICATED}\n", "ttnn:n300",
                                                           "half.yaml");
  const std::string msg = invalid_config_message([&] { Transformer t(m.spec, Device::open("ttnn:n300"), half); });
  EXPECT_NE(msg.find("layers.0.attention.out_matmul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("splits this op ROW over 2 chips (decided by qkv_matmul's sharding)"), std::string::npos) << msg;

  // Asking a split the heads do not allow says why.
  const Bundled ai = bundled("aidreams260K");
  const auto col = ModuleHardwareConfig::from_yaml_string("ops:\n  qkv_matmul: {sharding: COLUMN}\n", "ttnn:t3k",
                                                          "col.yaml");
  const std::string why = invalid_config_message([&] { Transformer t(ai.spec, Device::open("ttnn:t3k"), col); });
  EXPECT_NE(why.find("4 query heads do not split evenly over 8 chips"), std::string::npos) << why;

  // A split on a single chip.
  const auto one = ModuleHardwareConfig::from_yaml_string("ops:\n  ff2_matmul: {sharding: ROW}\n", "ttnn:n150", "one.yaml");
  const std::string single_msg =
      invalid_config_message([&] { Transformer t(m.spec, Device::open("ttnn:n150"), one); });
  EXPECT_NE(single_msg.find("ff2_matmul"), std::string::npos) << single_msg;
}

TEST(TensorParallel, EachChipsShardIsItsOwnCachedTensor) {
  const Bundled m = bundled("stories260K");
  test::TempDir dir;
  auto build = [&] {
    auto device = Device::open("ttnn:n300");
    TensorCacheConfig cc;
    cc.cache_dir = dir.path().string();
    cc.cache_namespace = "tp";
    auto cache = std::make_shared<TensorCacheManager>(device, cc);
    Transformer model(m.spec, device, ModuleHardwareConfig("ttnn:n300"), m.weights, cached_weight_loader(cache));
    cache->finish();
    return std::make_pair(cache->stats(), forced_logits(model, {1, 403, 407}, {25}).back());
  };
  const auto [cold, cold_logits] = build();
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  auto count = [&](const std::string& part) {
    return std::count_if(names.begin(), names.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  // q/k/v, o, gate, up, down per layer and the LM head: one file per chip each.
  EXPECT_EQ(count("layers.0.attention.qkv_matmul.weight.chip0of2"), 1);
  EXPECT_EQ(count("layers.0.attention.qkv_matmul.weight.chip1of2"), 1);
  EXPECT_EQ(count("layers.4.mlp.ff2_matmul.weight.chip1of2"), 1);
  EXPECT_EQ(count("lm_head.lm_head_matmul.weight.chip1of2"), 1);
  const auto [warm, warm_logits] = build();
  EXPECT_EQ(warm.misses, 0);
  EXPECT_EQ(warm.hits, cold.misses);
  EXPECT_EQ(warm_logits, cold_logits);
}

TEST(TensorParallel, EachChipHoldsItsOwnBuffers) {
  const Bundled m = bundled("stories260K");
  auto device = Device::open("ttnn:t3k");
  Transformer model(m.spec, device, ModuleHardwareConfig("ttnn:t3k"), m.weights);
  model.compile_decode(DecodeShape{1, 64});
  EXPECT_EQ(model.layer(0).attention().chips(), 8);
  for (int chip = 0; chip < 8; ++chip) {
    // Chip c's KV cache holds its query head's KV head (4 KV heads, each on 2 chips).
    EXPECT_EQ(model.layer(0).attention().k_cache(chip).shape()[1], 1);
    EXPECT_GT(device->allocator().used_bytes(BufferType::DRAM, chip), 0) << "chip " << chip;
    EXPECT_GT(device->allocator().used_bytes(BufferType::L1, chip), 0) << "chip " << chip;
  }
}

TEST(TensorParallel, HeadSplitRules) {
  HeadSplit s = split_heads(32, 8, 8);  // Llama-3.2-1B on t3k
  EXPECT_EQ(s.ways, 8);
  EXPECT_EQ(s.q_heads, 4);
  EXPECT_EQ(s.kv_heads, 1);
  EXPECT_EQ(s.kv_begin(7), 7);
  s = split_heads(32, 8, 32);  // galaxy: a KV head serves 4 chips
  EXPECT_EQ(s.ways, 32);
  EXPECT_EQ(s.q_heads, 1);
  EXPECT_EQ(s.kv_heads, 1);
  EXPECT_EQ(s.kv_begin(5), 1);
  s = split_heads(8, 4, 2);
  EXPECT_EQ(s.kv_heads, 2);
  EXPECT_EQ(s.kv_begin(1), 2);
  s = split_heads(4, 4, 8);
  EXPECT_EQ(s.ways, 1);
  EXPECT_NE(s.why_not.find("4 query heads"), std::string::npos);
  s = split_heads(12, 3, 4);  // 3 query heads per chip straddle KV groups of 4
  EXPECT_EQ(s.ways, 1);
  EXPECT_FALSE(s.why_not.empty());
}

}  // namespace
}  // namespace ttt
