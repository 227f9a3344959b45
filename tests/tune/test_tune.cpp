// The auto-tuner on the tinystories-260k shape: its candidates validate, its file loads
// back to its winners, a second run is served by the cache, and min_pcc refuses a lossy
// candidate.
#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include "ttt/modules/transformer.hpp"
#include "ttt/tune.hpp"

namespace ttt {
namespace {

namespace fs = std::filesystem;

class Tune : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ttt_tune_{}_{}", getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TuneOptions options(const std::string& device) const {
    TuneOptions o;
    o.spec = builtin_spec("tinystories-260k");
    o.device = device;
    o.start = ModuleHardwareConfig(device);
    o.start.shapes.cache_len = o.start.shapes.prefill_seq = 64;
    o.cache_dir = (dir_ / "cache").string();
    o.tokens = 3;
    o.timing_steps = 2;
    o.min_timed_s = 0;
    return o;
  }

  fs::path dir_;
};

// The file without its comment lines (they count this run's cache hits).
std::string settings(const std::string& yaml) {
  std::string out;
  std::size_t pos = 0;
  while (pos < yaml.size()) {
    std::size_t end = yaml.find('\n', pos);
    if (end == std::string::npos) end = yaml.size();
    if (yaml[pos] != '#') out += yaml.substr(pos, end - pos + 1);
    pos = end + 1;
  }
  return out;
}

const ResolvedOp& find(const std::vector<ResolvedOp>& ops, const std::string& path) {
  for (const ResolvedOp& r : ops)
    if (r.path == path) return r;
  throw std::runtime_error("no op " + path);
}

TEST_F(Tune, CandidatesTheSearchMeasuresAllValidate) {
  // min_pcc 1 keeps every op at its start config, so each candidate can be checked on
  // its own against the start.
  TuneOptions o = options("ttnn:n150");
  o.min_pcc = 1.0;
  const TuneResult r = tune(o);
  TransformerSpec spec = o.spec;
  spec.num_layers = 1;
  int64_t valid = 0, invalid = 0;
  ASSERT_FALSE(r.trials.empty());
  for (const TuneTrial& t : r.trials) {
    EXPECT_FALSE(t.won) << t.path;
    const std::string problem = check_candidate(spec, o.start, t.path, o.mode, t.config);
    EXPECT_EQ(problem.empty(), t.valid) << t.path << " (" << t.axis << "): " << problem << t.problem;
    (t.valid ? valid : invalid)++;
  }
  EXPECT_EQ(r.stats.proposed, valid + invalid);
  EXPECT_EQ(r.stats.measured, valid);
  EXPECT_EQ(r.stats.rejected_invalid, invalid);
  EXPECT_GT(invalid, 0);  // e.g. the DRAM-sharded matmul, which needs a width-sharded x
  EXPECT_GT(valid, 0);
  EXPECT_EQ(r.stats.rejected_accuracy, r.stats.accuracy_checks);
  // Every axis of every op proposes only configs that differ from the op's own.
  const auto tree = std::make_unique<Transformer>(spec, Device::open("ttnn:n150"), o.start);
  for (const ResolvedOp& op : tree->all_ops(Mode::decode))
    for (const TuneAxis& axis : candidate_axes(op, Mode::decode, Device::spec_for("ttnn:n150")))
      for (const OpConfig& c : axis.values) EXPECT_NE(c, op.config) << op.path << " " << axis.name;
}

TEST_F(Tune, SharedFormatsAreWrittenForBothModes) {
  // One copy of the weights and one KV cache serve prefill and decode: a decode winner
  // that changes either is written under both modes' keys, so it validates.
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 1;
  const ModuleHardwareConfig hw("ttnn:n150");
  const Transformer tree(spec, Device::open("ttnn:n150"), hw);
  std::vector<ResolvedOp> ops = tree.all_ops(Mode::decode);
  OpConfig kv = find(ops, "layers.0.attention.kv_cache").config;
  kv.dtype = DataType::BFLOAT16;
  EXPECT_EQ(check_candidate(spec, hw, "layers.0.attention.kv_cache", Mode::decode, kv), "");
  OpConfig ff2 = find(ops, "layers.0.mlp.ff2_matmul").config;
  ff2.weights_dtype = DataType::BFLOAT4_B;
  EXPECT_EQ(check_candidate(spec, hw, "layers.0.mlp.ff2_matmul", Mode::decode, ff2), "");
  ff2.compute_kernel_config.fp32_dest_acc_en = true;
  std::visit([](auto& k) {
    if constexpr (requires { k.out_subblock_w; }) k.out_subblock_h = 8, k.out_subblock_w = 1;
  }, ff2.kernel_config);
  EXPECT_NE(check_candidate(spec, hw, "layers.0.mlp.ff2_matmul", Mode::decode, ff2), "");
}

TEST_F(Tune, FileLoadsAndResolvesToTheWinnersInEveryLayer) {
  // The memory target: this model's decode ops are all at the cost model's per-op floor
  // (dispatch-bound), so time alone would keep every default; bytes do shrink.
  TuneOptions o = options("ttnn:n150");
  o.target = OptimizationTarget::memory;
  o.min_pcc = 0.9;
  const TuneResult r = tune(o);
  ASSERT_FALSE(r.ops.empty());
  const ModuleHardwareConfig hw = ModuleHardwareConfig::from_yaml_string(r.yaml, "ttnn:n150", "tuned.yaml");
  EXPECT_EQ(hw.optimization_target, o.start.optimization_target);
  EXPECT_EQ(hw.shapes, o.start.shapes);
  // The whole model (5 layers), though the search built one.
  const Transformer model(o.spec, Device::open("ttnn:n150"), hw);
  const std::vector<ResolvedOp> ops = model.all_ops(o.mode);
  int changed = 0;
  for (const TunedOp& t : r.ops) {
    changed += t.changes.empty() ? 0 : 1;
    if (t.key.rfind("layers.*.", 0) != 0) {
      EXPECT_EQ(find(ops, t.path).config, t.tuned) << t.path;
      continue;
    }
    for (int64_t layer = 0; layer < o.spec.num_layers; ++layer) {
      const std::string path = fmt::format("layers.{}{}", layer, t.key.substr(std::string("layers.*").size()));
      EXPECT_EQ(find(ops, path).config, t.tuned) << path;
    }
  }
  EXPECT_GT(changed, 0);
  EXPECT_GE(r.tuned_pcc, o.min_pcc);
}

TEST_F(Tune, SecondRunIsServedByTheCache) {
  for (const std::string device : {"ttnn:n150", "cpu"}) {
    TuneOptions o = options(device);
    o.only_ops = {"ff1_matmul", "kv_cache", "lm_head_matmul"};
    const TuneResult first = tune(o);
    EXPECT_GT(first.stats.cache_misses, 0) << device;
    const TuneResult second = tune(o);
    EXPECT_EQ(second.stats.cache_misses, 0) << device;
    EXPECT_GT(second.stats.cache_hits, 0) << device;
    EXPECT_EQ(second.stats.cache_hits, first.stats.cache_hits + first.stats.cache_misses) << device;
    EXPECT_EQ(settings(second.yaml), settings(first.yaml)) << device;
    EXPECT_NE(settings(first.yaml).find("ops:"), std::string::npos);
    // Without the cache everything is measured again.
    o.use_cache = false;
    if (device != "cpu") {
      EXPECT_GT(tune(o).stats.cache_misses, 0) << device;
    }
  }
}

TEST_F(Tune, MinPccRefusesBlockFloat4WeightsWhenSetHigh) {
  // Under the memory target the smallest weights win unless they cost accuracy.
  TuneOptions o = options("ttnn:n150");
  o.target = OptimizationTarget::memory;
  o.only_ops = {"ff1_matmul"};
  o.min_pcc = 0.9;
  const TuneResult loose = tune(o);
  ASSERT_EQ(loose.ops.size(), 1u);
  EXPECT_EQ(loose.ops[0].tuned.weights_dtype, DataType::BFLOAT4_B);
  const double bfp4_pcc = loose.tuned_pcc;
  EXPECT_LT(bfp4_pcc, loose.start_pcc);

  o.min_pcc = (bfp4_pcc + loose.start_pcc) / 2;  // between the two
  const TuneResult strict = tune(o);
  ASSERT_EQ(strict.ops.size(), 1u);
  EXPECT_NE(strict.ops[0].tuned.weights_dtype, DataType::BFLOAT4_B);
  EXPECT_GE(strict.stats.rejected_accuracy, 1);
  EXPECT_GE(strict.tuned_pcc, o.min_pcc);
  bool refused = false;
  for (const TuneTrial& t : strict.trials)
    refused = refused || (t.config.weights_dtype == DataType::BFLOAT4_B && t.pcc && *t.pcc < o.min_pcc && !t.won);
  EXPECT_TRUE(refused);
}

TEST_F(Tune, BudgetStopsTheSearch) {
  TuneOptions o = options("ttnn:n150");
  o.budget_s = 1e-9;
  const TuneResult r = tune(o);
  EXPECT_TRUE(r.stats.budget_exhausted);
  EXPECT_EQ(r.stats.measured, 0);
  EXPECT_EQ(r.tuned_step_s, r.start_step_s);
}

TEST_F(Tune, ComparisonMeasuresEveryConfigInOneRun) {
  TuneOptions o = options("cpu");
  const std::vector<std::pair<std::string, ModuleHardwareConfig>> configs = {{"default", o.start},
                                                                              {"low", o.start}};
  const auto evals = evaluate_configs(o, configs, 0, 2);
  ASSERT_EQ(evals.size(), 2u);
  for (const ConfigEvaluation& e : evals) {
    EXPECT_TRUE(e.measured);
    EXPECT_GT(e.token_s, 0);
    EXPECT_GT(e.pcc, 0.99);
  }
}

}  // namespace
}  // namespace ttt
