// The module defaults validate for every device, mode and optimization target on the
// shapes of Llama-3.2-1B, Llama-3.1-8B and Llama-3.1-70B: the tree is built without
// weights (construction resolves and validates both modes at the nominal shapes), then
// resolved again for decode with 32 users and a 4096-position cache and prefill of 2048
// tokens. Nothing is compiled, so nothing is allocated.
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <tuple>
#include <vector>

#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

constexpr ModuleShapes kLarge{.prefill_batch = 1, .prefill_seq = 2048, .decode_batch = 32, .cache_len = 4096};

// The problems listed by a tree's InvalidConfig error, one per line.
std::vector<std::string> problems(const Error& e) {
  std::vector<std::string> out;
  const std::string& text = e.detail();
  for (std::size_t pos = text.find("\n  "); pos != std::string::npos;) {
    const std::size_t next = text.find("\n  ", pos + 3);
    out.push_back(text.substr(pos + 3, next == std::string::npos ? std::string::npos : next - pos - 3));
    pos = next;
  }
  return out;
}

// Every op of both modes comes from the module default and has a cost; ops with weights
// report their bytes, and the decode KV cache its size.
void expect_resolved(const Transformer& model, const std::string& what) {
  for (Mode mode : enum_values<Mode>()) {
    const auto ops = model.all_ops(mode);
    ASSERT_FALSE(ops.empty()) << what;
    for (const ResolvedOp& r : ops) {
      EXPECT_EQ(r.source, ConfigSource::module_default) << what << " " << r.path;
      EXPECT_GT(r.cost.total_s(), 0.0) << what << " " << to_string(mode) << " " << r.path;
      if (r.shape.kind == OpKind::matmul) {
        EXPECT_GT(r.weight_bytes, 0) << what << " " << r.path;
      }
      if (r.shape.kind == OpKind::kv_cache && mode == Mode::decode) {
        EXPECT_GT(r.output_bytes, 0) << what << " " << r.path;
      }
    }
  }
}

// Llama-3.1-70B has 64 query heads. The decode forms of create_heads, rotary and
// concat_heads take at most 32 heads per user on a chip (ttnn's
// nlp_create_qkv_heads_decode: "Support maximum 32 heads for now"); tensor parallel
// devices split the heads (32 per chip on n300, 8 on t3k), a single chip cannot. There
// these are the only problems the tree may have: every other op validates.
bool heads_over_decode_limit(const TransformerSpec& spec, const std::string& device) {
  return device != "cpu" && spec.layer.attention.num_heads / Device::open(device)->spec().mesh.chips() > 32;
}

// The memory check's line: a tree whose weights, KV caches and buffers exceed one chip's
// DRAM (memory_plan.hpp). These tests are about op configs; memory has its own tests.
bool is_memory_problem(const std::string& line) { return line.rfind("<root>: memory:", 0) == 0; }

std::vector<std::string> op_problems(const Error& e) {
  std::vector<std::string> out;
  for (auto& line : problems(e))
    if (!is_memory_problem(line)) out.push_back(std::move(line));
  return out;
}

void expect_only_decode_head_limit(const Error& e, const TransformerSpec& spec, const std::string& what) {
  const auto lines = op_problems(e);
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(3 * spec.num_layers)) << what << "\n" << e.what();
  for (const auto& line : lines) {
    const bool head_op = line.find(".attention.create_heads:") != std::string::npos ||
                         line.find(".attention.rotary:") != std::string::npos ||
                         line.find(".attention.concat_heads:") != std::string::npos;
    EXPECT_TRUE(head_op && line.find("32") != std::string::npos && line.find("[decode]") != std::string::npos)
        << what << ": unexpected problem: " << line;
  }
}

using Param = std::tuple<const char*, const char*, OptimizationTarget>;

class DefaultsValidate : public ::testing::TestWithParam<Param> {};

TEST_P(DefaultsValidate, AtNominalAndLargeShapes) {
  const auto [spec_name, device, target] = GetParam();
  const TransformerSpec spec = builtin_spec(spec_name);
  const std::string what = fmt::format("{} on {} ({})", spec_name, device, to_string(target));
  ModuleHardwareConfig hw(device);
  hw.optimization_target = target;
  if (heads_over_decode_limit(spec, device)) {
    try {
      Transformer model(spec, Device::open(device), hw);
      ADD_FAILURE() << what << ": 64 heads in decode validated on one chip; update this test";
    } catch (const Error& e) {
      expect_only_decode_head_limit(e, spec, what);
    }
    return;
  }
  std::unique_ptr<Transformer> model;
  try {
    model = std::make_unique<Transformer>(spec, Device::open(device), hw);
  } catch (const Error& e) {
    // Llama-3.1-70B's 27.6 GiB of weights per chip on n300 cannot fit 12 GiB chips: the
    // memory check says so, and every op config is still valid.
    if (spec_name == std::string("llama-3.1-70b") && device == std::string("ttnn:n300")) {
      EXPECT_TRUE(op_problems(e).empty()) << what << "\n" << e.what();
      EXPECT_EQ(problems(e).size(), 1u) << what << "\n" << e.what();
      return;
    }
    FAIL() << what << " at the nominal shapes:\n" << e.what();
  }
  expect_resolved(*model, what);
  try {
    model->resolve_configs(kLarge);
  } catch (const Error& e) {
    // Not fitting one chip's DRAM at these sizes is allowed (8B with 32 users x 4096
    // positions on a Wormhole chip); any op problem is not.
    if (!op_problems(e).empty() || problems(e).empty())
      FAIL() << what << " at prefill 1 x 2048, decode 32 users x 4096:\n" << e.what();
  }
  expect_resolved(*model, what + " large");
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string name =
      fmt::format("{}_{}_{}", std::get<0>(info.param), std::get<1>(info.param), to_string(std::get<2>(info.param)));
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllModelsDevicesTargets, DefaultsValidate,
                         ::testing::Combine(::testing::Values("llama-3.2-1b", "llama-3.1-8b", "llama-3.1-70b"),
                                            ::testing::Values("cpu", "ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k",
                                                              "ttnn:galaxy"),
                                            ::testing::Values(OptimizationTarget::latency, OptimizationTarget::memory,
                                                              OptimizationTarget::balanced)),
                         param_name);

// The 70B ops other than the decode head ops, at the large shapes too: its MLP, norms,
// embedding and LM head on their own (its attention is covered at the nominal shapes above).
TEST(DefaultsValidate, Llama70BModulesAtLargeShapesOnEveryTtnnDevice) {
  const TransformerSpec spec = builtin_spec("llama-3.1-70b");
  for (const char* device : {"ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k", "ttnn:galaxy"}) {
    for (OptimizationTarget target : enum_values<OptimizationTarget>()) {
      ModuleHardwareConfig hw(device);
      hw.optimization_target = target;
      const auto dev = Device::open(device);
      const std::string what = fmt::format("llama-3.1-70b on {} ({})", device, to_string(target));
      try {
        MLP mlp(spec.layer.mlp, dev, hw);
        mlp.resolve_configs(kLarge);
        RMSNorm norm(spec.final_norm, dev, hw);
        norm.resolve_configs(kLarge);
        Embedding embedding(spec.embedding, dev, hw);
        embedding.resolve_configs(kLarge);
        LMHead head(spec.lm_head, dev, hw);
        head.resolve_configs(kLarge);
      } catch (const Error& e) {
        ADD_FAILURE() << what << ":\n" << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace ttt
