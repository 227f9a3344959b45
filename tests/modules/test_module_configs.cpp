// Module construction and configuration: specs validated at construction with errors
// that name the field, override_op_config re-applying (weights re-converted, output
// changed) and a failing override keeping the previous config, compile in either order.
#include <gtest/gtest.h>

#include <initializer_list>

#include "../error_test_util.hpp"
#include "module_reference.hpp"
#include "ttt/error.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

using test::Vec;

using test::contains;
using test::invalid_config_message;

TEST(ModuleSpecs, ValidationErrorsNameTheField) {
  AttentionSpec gqa(256, 6);
  gqa.num_kv_heads = 4;
  EXPECT_TRUE(contains(invalid_config_message([&] { gqa.validate(); }), {"num_heads 6", "num_kv_heads 4"}));
  EXPECT_TRUE(contains(invalid_config_message([] { AttentionSpec(100, 3).validate(); }),
                       {"AttentionSpec.hidden_dim 100", "head_dim"}));
  EXPECT_TRUE(contains(invalid_config_message([] { AttentionSpec(0, 4).validate(); }),
                       {"AttentionSpec.hidden_dim must be positive"}));
  AttentionSpec odd(96, 1);
  odd.head_dim = 33;
  EXPECT_TRUE(contains(invalid_config_message([&] { odd.validate(); }), {"AttentionSpec.head_dim"}));
  EXPECT_TRUE(contains(invalid_config_message([] {
                         MLPSpec{64, 0, MlpActivation::silu, true, false}.validate();
                       }),
                       {"MLPSpec.intermediate_dim"}));
  EXPECT_TRUE(contains(invalid_config_message([] { RMSNormSpec{64, 0.0}.validate(); }), {"RMSNormSpec.eps"}));
  EXPECT_TRUE(contains(invalid_config_message([] { EmbeddingSpec{0, 64}.validate(); }), {"EmbeddingSpec.vocab_size"}));
  TransformerSpec t = test::small_spec(1, 64, 2, 2, 32, 128, 100);
  t.layer.mlp.hidden_dim = 32;
  EXPECT_TRUE(contains(invalid_config_message([&] { t.validate(); }), {"mlp.hidden_dim 32"}));
  t = test::small_spec(1, 64, 2, 2, 32, 128, 100);
  t.num_layers = 0;
  EXPECT_TRUE(contains(invalid_config_message([&] { t.validate(); }), {"TransformerSpec.num_layers"}));
}

TEST(ModuleSpecs, ModulesValidateTheirSpecAtConstruction) {
  auto cpu = Device::open("cpu");
  AttentionSpec bad(256, 8);
  bad.num_kv_heads = 3;
  EXPECT_TRUE(contains(invalid_config_message([&] { MultiHeadAttention m(bad, cpu); }), {"num_kv_heads 3"}));
  EXPECT_TRUE(contains(invalid_config_message([&] {
                         MLP m(MLPSpec{0, 64, MlpActivation::silu, true, false}, cpu);
                       }),
                       {"MLPSpec.hidden_dim"}));
  EXPECT_TRUE(contains(invalid_config_message([&] { RMSNorm m(RMSNormSpec{64, 2.0}, cpu); }), {"RMSNormSpec.eps"}));
  TransformerSpec t = test::small_spec(1, 64, 2, 2, 32, 128, 100);
  t.lm_head.vocab_size = 99;
  EXPECT_TRUE(contains(invalid_config_message([&] { Transformer m(t, cpu); }), {"lm_head"}));
}

TEST(ModuleSpecs, SpecOnlyModulesResolveEveryOpWithoutWeights) {
  // The seed's basic usage: defaults only, no weights; every op of both modes resolved.
  MultiHeadAttention attention(AttentionSpec(4096, 32), "ttnn:n150");
  EXPECT_FALSE(attention.has_weights());
  const std::vector<std::string> names{"qkv_matmul", "create_heads", "rotary",    "kv_cache",
                                       "sdpa",       "concat_heads", "out_matmul"};
  for (Mode mode : enum_values<Mode>()) {
    std::vector<std::string> got;
    for (const auto& op : attention.ops(mode)) {
      got.push_back(op.name);
      EXPECT_EQ(op.source, ConfigSource::module_default) << op.name;
      EXPECT_GT(op.cost.total_s(), 0.0) << op.name;
    }
    EXPECT_EQ(got, names);
  }
}

// Counts the weights a module converts.
struct CountingLoader {
  std::shared_ptr<std::vector<std::string>> loaded = std::make_shared<std::vector<std::string>>();
  WeightLoader loader() const {
    auto log = loaded;
    return [log](const WeightSource& s, const WeightRequest& r, const DeviceSpec& d) {
      log->push_back(fmt::format("{}:{}", r.name, to_string(r.dtype)));
      return convert_weight(s, r, d);
    };
  }
};

std::shared_ptr<MapWeightSource> mlp_weights() {
  const TransformerSpec spec = test::small_spec(1, 128, 4, 4, 32, 256, 64);
  auto all = test::random_llama_weights(spec, 5);
  auto w = std::make_shared<MapWeightSource>();
  for (const char* n : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"}) {
    const std::string full = std::string("model.layers.0.mlp.") + n;
    w->add(n, all->shape(full), all->load(full));
  }
  return w;
}

// Host bfloat16 and block-float weights come in column panels, shards one tile wide
// whatever the thread count: the stored [N / 32, K, 32] tensor holds the [K, N] weight's
// columns panel by panel.
TEST(WeightLoading, HostTiledWeightsInColumnPanels) {
  auto w = mlp_weights();
  const DeviceSpec cpu = Device::spec_for("cpu");
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT8_B, 256, cpu), 8);
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT16, 256, cpu), 8);
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT4_B, 96, cpu), 3);
  EXPECT_EQ(matmul_weight_shards(DataType::FLOAT32, 256, cpu), 1);  // row-major on cpu
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT8_B, 256, Device::spec_for("ttnn:n150")), 1);
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT8_B, 32, cpu), 1);  // one tile column
  EXPECT_EQ(matmul_weight_shards(DataType::BFLOAT8_B, 200, cpu), 1);  // not whole tiles
  EXPECT_EQ(matmul_weight_spec("w", 128, 256, DataType::BFLOAT8_B, cpu).shape, (Shape{8, 128, 32}));
  EXPECT_EQ(matmul_weight_spec("w", 128, 200, DataType::BFLOAT8_B, cpu).shape, (Shape{128, 200}));

  WeightRequest whole{"up", {"up_proj.weight"}, true, DataType::BFLOAT8_B, Layout::TILE, {}};
  const auto ref = to_float(convert_weight(*w, whole, cpu));  // [128, 256]
  for (int64_t s : {2, 4, 8}) {  // 8: panels
    WeightRequest split = whole;
    split.column_shards = s;
    const Tensor t = convert_weight(*w, split, cpu);
    ASSERT_EQ(t.shape(), (Shape{s, 128, 256 / s}));
    EXPECT_EQ(weight_shape(*w, split), t.shape());
    const auto got = to_float(t);
    const int64_t width = 256 / s;
    for (int64_t k = 0; k < 128; ++k)
      for (int64_t n = 0; n < 256; ++n)
        ASSERT_EQ(got[static_cast<std::size_t>(((n / width) * 128 + k) * width + n % width)],
                  ref[static_cast<std::size_t>(k * 256 + n)])
            << "shards " << s << " k " << k << " n " << n;
  }
  WeightRequest bad = whole;
  bad.column_shards = 3;
  EXPECT_TRUE(contains(invalid_config_message([&] { weight_shape(*w, bad); }),
                       {"weight 'up': 256 output columns do not split into 3 column shards of whole tiles"}));
}

TEST(OverrideOpConfig, ReappliesAndReconvertsOnlyTheChangedWeights) {
  auto w = mlp_weights();
  const MLPSpec spec{128, 256, MlpActivation::silu, true, false};
  CountingLoader counter;
  auto cpu = Device::open("cpu");
  MLP mlp(spec, cpu, {}, w, "mlp", counter.loader());
  ASSERT_EQ(counter.loaded->size(), 3u);
  EXPECT_EQ(mlp.op(Mode::decode, "ff1_matmul").config.weights_dtype, DataType::BFLOAT16);
  mlp.compile_decode(DecodeShape{2, 32});
  const Shape ds{1, 2, 128};
  const auto x = test::input_values(static_cast<std::size_t>(ds.volume()), 91);
  const auto before = to_float(mlp.forward_decode(test::activation(x, ds, cpu->spec())));

  OpConfig cfg = mlp.op(Mode::decode, "ff1_matmul").config;
  cfg.weights_dtype = DataType::BFLOAT8_B;
  mlp.override_op_config("ff1_matmul", cfg);
  // Only ff1's weight was converted again, into the new format.
  ASSERT_EQ(counter.loaded->size(), 4u);
  EXPECT_EQ(counter.loaded->back(), "mlp.ff1_matmul.weight:BFLOAT8_B");
  for (Mode mode : enum_values<Mode>()) {
    EXPECT_EQ(mlp.op(mode, "ff1_matmul").source, ConfigSource::code);
    EXPECT_EQ(mlp.op(mode, "ff1_matmul").config.weights_dtype, DataType::BFLOAT8_B);
    EXPECT_EQ(mlp.op(mode, "ff3_matmul").config.weights_dtype, DataType::BFLOAT16);
  }
  const auto after = to_float(mlp.forward_decode(test::activation(x, ds, cpu->spec())));
  const Vec ref = test::ref_mlp(test::seen(x, ds, cpu->spec()), 2, spec, *w);
  // Slightly different (bfloat8_b gate weights), still close to the reference.
  EXPECT_GT(test::max_abs_of(after, Vec(before.begin(), before.end())), 0.0);
  EXPECT_GE(test::pcc_of(after, before), 0.999);
  EXPECT_GE(test::pcc_of(after, ref), 0.999);
  fmt::print("[pcc] mlp decode cpu ff1 bfloat8_b override: {:.7f}\n", test::pcc_of(after, ref));
}

TEST(OverrideOpConfig, FailingOverrideNamesModuleOpAndFieldAndKeepsThePreviousConfig) {
  auto w = mlp_weights();
  const MLPSpec spec{128, 256, MlpActivation::silu, true, false};
  auto n150 = Device::open("ttnn:n150");
  CountingLoader counter;
  MLP mlp(spec, n150, {}, w, "layers.0.mlp", counter.loader());
  mlp.compile_decode(DecodeShape{2, 32});
  const Shape ds{1, 2, 128};
  const auto x = test::input_values(static_cast<std::size_t>(ds.volume()), 92);
  const auto before = to_float(mlp.forward_decode(test::activation(x, ds, n150->spec())));
  const OpConfig previous = mlp.op(Mode::decode, "ff2_matmul").config;
  const std::size_t conversions = counter.loaded->size();

  // A width shard that is not a whole number of tiles cannot be placed.
  OpConfig bad = previous;
  bad.memory_config =
      MemoryConfig{TensorMemoryLayout::WIDTH_SHARDED, BufferType::L1, ShardSpec{CoreGrid{4, 1}, {32, 40}}};
  const std::string msg = invalid_config_message([&] { mlp.override_op_config("ff2_matmul", bad); });
  EXPECT_TRUE(contains(msg, {"layers.0.mlp.ff2_matmul"}));         // module and op
  EXPECT_TRUE(contains(msg, {"memory_config.shard_spec.shape"}));  // field
  EXPECT_TRUE(contains(msg, {"40"}));                              // value
  fmt::print("failing override: {}\n", msg);

  // The previous config stays in force and the module still runs as before.
  for (Mode mode : enum_values<Mode>()) EXPECT_EQ(mlp.op(mode, "ff2_matmul").source, ConfigSource::module_default);
  EXPECT_EQ(mlp.op(Mode::decode, "ff2_matmul").config, previous);
  EXPECT_EQ(counter.loaded->size(), conversions);
  const auto again = to_float(mlp.forward_decode(test::activation(x, ds, n150->spec())));
  EXPECT_EQ(again, before);

  // An op the module does not have is named with the ones it has.
  const std::string unknown = invalid_config_message([&] { mlp.override_op_config("qkv_matmul", previous); });
  EXPECT_TRUE(contains(unknown, {"qkv_matmul", "ff1_matmul"}));
}

TEST(OverrideOpConfig, ModeKeyAndAnOverrideThatDoesNotFitAtCompile) {
  // Decode outputs of 32 x 12288 bfloat16 (768 KiB) in one core's L1: one fits, two do not.
  const int64_t h = 128, f = 12288;
  auto w = std::make_shared<MapWeightSource>();
  w->add("gate_proj.weight", Shape{f, h}, random_weight(Shape{f, h}, 1, "g", 0.09f));
  w->add("up_proj.weight", Shape{f, h}, random_weight(Shape{f, h}, 1, "u", 0.09f));
  w->add("down_proj.weight", Shape{h, f}, random_weight(Shape{h, f}, 1, "d", 0.01f));
  auto n150 = Device::open("ttnn:n150");
  MLP mlp(MLPSpec{h, f, MlpActivation::silu, true, false}, n150, {}, w);
  mlp.compile_decode(DecodeShape{1, 32});
  const Shape ds{1, 1, h};
  const auto x = test::input_values(static_cast<std::size_t>(h), 93);
  const auto before = to_float(mlp.forward_decode(test::activation(x, ds, n150->spec())));

  OpConfig cfg = mlp.op(Mode::decode, "ff1_matmul").config;
  cfg.memory_config =
      MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1, ShardSpec{CoreGrid{1, 1}, {32, f}}};
  mlp.override_op_config("decode.ff1_matmul", cfg);  // a mode key: decode only
  EXPECT_EQ(mlp.op(Mode::decode, "ff1_matmul").source, ConfigSource::code);
  EXPECT_EQ(mlp.op(Mode::prefill, "ff1_matmul").source, ConfigSource::module_default);
  EXPECT_EQ(to_float(mlp.forward_decode(test::activation(x, ds, n150->spec()))), before);

  cfg.op_name = "ff3_matmul";
  try {
    mlp.override_op_config("decode.ff3_matmul", cfg);
    ADD_FAILURE() << "two 768 KiB shards fit one core's L1";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::OutOfMemory) << e.what();
    EXPECT_TRUE(contains(e.what(), {"mlp.ff3_matmul.out", "L1"}));
    fmt::print("override that does not fit: {}\n", e.what());
  }
  EXPECT_EQ(mlp.op(Mode::decode, "ff3_matmul").source, ConfigSource::module_default);
  EXPECT_EQ(mlp.op(Mode::decode, "ff1_matmul").source, ConfigSource::code);
  EXPECT_EQ(to_float(mlp.forward_decode(test::activation(x, ds, n150->spec()))), before);
}

TEST(OverrideOpConfig, OverrideInsideACompiledTreeReachesTheChildAndRecompiles) {
  const TransformerSpec spec = test::small_spec(2, 128, 4, 4, 32, 256, 64);
  auto weights = test::random_llama_weights(spec, 3);
  Transformer model(spec, Device::open("cpu"), {}, weights);
  const std::vector<int32_t> prompt{1, 2, 3, 4}, next{5}, pos{4};
  auto run = [&] {
    model.forward_prefill(prompt, 1);
    return to_float(model.forward_decode(next, pos));
  };
  model.compile_decode(DecodeShape{1, 32});
  model.compile(PrefillShape{1, 4});
  const auto before = run();

  // At the root: the tree is compiled again with the new config and runs at once.
  OpConfig cfg = model.layer(1).attention().op(Mode::decode, "out_matmul").config;
  cfg.weights_dtype = DataType::BFLOAT8_B;
  model.override_op_config("layers.1.attention.out_matmul", cfg);
  EXPECT_EQ(model.layer(1).attention().op(Mode::decode, "out_matmul").config.weights_dtype, DataType::BFLOAT8_B);
  EXPECT_EQ(model.layer(1).attention().op(Mode::decode, "out_matmul").source, ConfigSource::code);
  EXPECT_EQ(model.layer(0).attention().op(Mode::decode, "out_matmul").config.weights_dtype, DataType::BFLOAT16);
  const auto after = run();
  EXPECT_NE(after, before);
  EXPECT_GE(test::pcc_of(after, before), 0.999);

  // On a child: its buffers belong to the root, which must compile again.
  model.layer(0).attention().override_op_config("out_matmul", cfg);
  EXPECT_TRUE(contains(invalid_config_message([&] { run(); }), {"layers.0.attention", "compile"}));
  model.compile_decode(DecodeShape{1, 32});
  model.compile(PrefillShape{1, 4});
  EXPECT_GE(test::pcc_of(run(), before), 0.999);
}

TEST(ModuleCompile, PrefillCompiledBeforeDecodeFillsTheCacheItWillRead) {
  // compile() then compile_decode(): the prefill must write the caches compile_decode made.
  const TransformerSpec spec = test::small_spec(1, 128, 4, 2, 32, 256, 64);
  auto weights = test::random_llama_weights(spec, 9);
  auto layer = std::make_shared<PrefixedWeightSource>(weights, "model.layers.0.self_attn.");
  auto cpu = Device::open("cpu");
  const auto hw = ModuleHardwareConfig::from_yaml_string(test::fp32_weights_yaml({"qkv_matmul", "out_matmul"}, true));
  const int64_t h = 128, n = 6;
  const auto x = test::input_values(static_cast<std::size_t>((n + 1) * h), 7);
  const std::vector<float> head(x.begin(), x.begin() + n * h), tail(x.begin() + n * h, x.end());
  const std::vector<int32_t> pos{static_cast<int32_t>(n)};
  std::vector<float> out[2];
  for (int order = 0; order < 2; ++order) {
    MultiHeadAttention m(spec.layer.attention, cpu, hw, layer);
    if (order == 0) {
      m.compile_decode(DecodeShape{2, 32});
      m.compile(PrefillShape{1, n});
    } else {
      m.compile(PrefillShape{1, n});
      m.compile_decode(DecodeShape{2, 32});
    }
    m.forward_prefill(test::activation(head, Shape{1, n, h}, cpu->spec()), 1);
    const Shape ds{1, 2, h};
    std::vector<float> xd(static_cast<std::size_t>(2 * h), 0.f);
    std::copy(tail.begin(), tail.end(), xd.begin() + h);
    const std::vector<int32_t> p2{0, static_cast<int32_t>(n)};
    out[order] = test::rows_of(to_float(m.forward_decode(test::activation(xd, ds, cpu->spec()), p2)), h, 1, 1);
  }
  test::RefAttention ref(spec.layer.attention, *layer);
  const Vec r = ref.feed(Vec(x.begin(), x.end()), n + 1);
  for (int order = 0; order < 2; ++order) {
    SCOPED_TRACE(order == 0 ? "decode compiled first" : "prefill compiled first");
    EXPECT_GE(test::pcc_of(out[order], test::rows_of(r, h, n, 1)), 0.9999);
  }
  EXPECT_EQ(out[0], out[1]);
}

}  // namespace
}  // namespace ttt
