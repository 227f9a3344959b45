// `ttt cache ls | verify | clear`: the functions behind it, and the built command when
// it has the cache subcommand.
#include <gtest/gtest.h>

#include "cache_test_util.hpp"
#include "cli/cli_runner.hpp"
#include "ttt/device.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::test {
namespace {

// Two fake model directories, each with a few cached weights, under one cache root.
struct TwoModels {
  TempDir tmp;
  fs::path root = tmp.path() / "cache";
  fs::path model_a = tmp.path() / "model-a";
  fs::path model_b = tmp.path() / "model-b";
  std::string ns_a, ns_b;
  std::vector<fs::path> files_a, files_b;

  TwoModels() {
    fs::create_directories(model_a);
    fs::create_directories(model_b);
    std::ofstream(model_a / "config.json") << R"({"hidden_size": 64})";
    std::ofstream(model_b / "config.json") << R"({"hidden_size": 32})";
    ns_a = model_cache_namespace(model_a);
    ns_b = model_cache_namespace(model_b);
    auto device = Device::open("ttnn:n150");
    build(device, ns_a, 2, files_a);
    build(device, ns_b, 3, files_b);
  }

  void build(const std::shared_ptr<Device>& device, const std::string& ns, int n, std::vector<fs::path>& files) {
    TensorCacheManager m(device, config_in(root, ns));
    for (int i = 0; i < n; ++i) {
      const TestWeight w = make_test_weight(fmt::format("layers.{}.mlp.ff1_matmul.weight", i), {64, 48},
                                            DataType::BFLOAT8_B, Layout::TILE, static_cast<uint32_t>(40 + i));
      int calls = 0;
      const WeightKey k = w.key(*device);
      (void)m.cache_weight(k, [&] { return w.convert(&calls); });
      files.push_back(m.file_for(k));
    }
  }
};

TEST(CacheAdmin, ListVerifyClearPerModel) {
  TwoModels t;
  const auto all = list_cache(t.root, std::nullopt);
  ASSERT_EQ(all.size(), 5u);
  for (const CacheFileInfo& f : all) {
    EXPECT_TRUE(f.problem.empty()) << f.problem;
    EXPECT_EQ(f.dtype, DataType::BFLOAT8_B);
    EXPECT_EQ(f.shape, (Shape{64, 48}));
    EXPECT_EQ(f.pieces, 1);
    EXPECT_TRUE(f.model == t.ns_a || f.model == t.ns_b);
  }
  const auto only_a = list_cache(t.root, t.ns_a);
  ASSERT_EQ(only_a.size(), 2u);
  EXPECT_EQ(only_a[0].tensor, "layers.0.mlp.ff1_matmul.weight");
  EXPECT_EQ(only_a[0].model, t.ns_a);

  for (const fs::path& f : t.files_a) EXPECT_EQ(verify_cache_file(f), "");
  flip_bit(t.files_b[1], fs::file_size(t.files_b[1]) - 3, 2);
  EXPECT_NE(verify_cache_file(t.files_b[1]).find("payload checksum mismatch"), std::string::npos);

  // Files the cache did not write are never touched.
  const fs::path notes = t.root / t.ns_a / "notes.txt";
  std::ofstream(notes) << "mine";
  const ClearResult a = clear_cache(t.root, t.ns_a);
  EXPECT_EQ(a.files, 2);
  EXPECT_GT(a.bytes, 0);
  EXPECT_TRUE(fs::exists(notes));
  EXPECT_EQ(list_cache(t.root, std::nullopt).size(), 3u);
  const ClearResult b = clear_cache(t.root, std::nullopt);
  EXPECT_EQ(b.files, 3);
  EXPECT_TRUE(list_cache(t.root, std::nullopt).empty());
  EXPECT_FALSE(fs::exists(t.root / t.ns_b));  // emptied namespace directories go too
  EXPECT_TRUE(list_cache(t.tmp.path() / "absent", std::nullopt).empty());
}

// The subcommand is registered by src/cli/main.cpp; until it is, the functions above
// are what is tested.
bool cli_has_cache_command() {
  const CliResult help = run_cli("--help");
  return help.code == 0 && help.out.find("\n  cache ") != std::string::npos;
}

TEST(CacheCli, LsVerifyClearThroughTheBinary) {
  if (!cli_has_cache_command()) GTEST_SKIP() << "the ttt binary has no 'cache' subcommand registered";
  TwoModels t;
  const std::string root = "--cache-dir " + t.root.string();

  CliResult ls = run_cli("cache ls " + root);
  EXPECT_EQ(ls.code, 0) << ls.out;
  EXPECT_NE(ls.out.find("layers.2.mlp.ff1_matmul.weight"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("BFLOAT8_B"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("[64, 48]"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("5 file(s)"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("2 model(s)"), std::string::npos) << ls.out;
  ls = run_cli("cache ls --model " + t.model_a.string() + " " + root);
  EXPECT_NE(ls.out.find("2 file(s)"), std::string::npos) << ls.out;
  ls = run_cli("cache " + root + " --model " + t.model_a.string() + " ls");  // options before the action
  EXPECT_NE(ls.out.find("2 file(s)"), std::string::npos) << ls.out;

  CliResult v = run_cli("cache verify " + root);
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("5 file(s) checked"), std::string::npos) << v.out;
  flip_bit(t.files_b[0], fs::file_size(t.files_b[0]) - 1, 0);
  v = run_cli("cache verify " + root);
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("CORRUPT  " + t.files_b[0].string()), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("payload checksum mismatch"), std::string::npos) << v.out;
  v = run_cli("cache verify --model " + t.model_a.string() + " " + root);
  EXPECT_EQ(v.code, 0) << v.out;  // model a's part is sound

  CliResult c = run_cli("cache clear --model " + t.model_b.string() + " " + root);
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("removed 3 file(s)"), std::string::npos) << c.out;
  EXPECT_NE(run_cli("cache ls " + root).out.find("2 file(s)"), std::string::npos);
  c = run_cli("cache clear " + root);
  EXPECT_NE(c.out.find("removed 2 file(s)"), std::string::npos) << c.out;
  EXPECT_NE(run_cli("cache ls " + root).out.find("no weight cache files"), std::string::npos);

  const CliResult bad = run_cli("cache ls --model " + (t.tmp.path() / "nope").string() + " " + root);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("is not a directory"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace ttt::test
