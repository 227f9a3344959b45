// The weight cache: cold then warm loads, what the key covers, per-chip pieces,
// configuration, fingerprints, progress, and concurrent builders.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <latch>
#include <thread>

#include "cache/cache_file.hpp"
#include "cache_test_util.hpp"
#include "ttt/device.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::test {
namespace {

std::vector<TestWeight> weights_for(const Device& device) {
  const bool tt = device.spec().is_ttnn();
  return {
      make_test_weight("layers.0.attention.qkv_matmul.weight", {96, 80}, tt ? DataType::BFLOAT8_B : DataType::FLOAT32,
                       tt ? Layout::TILE : Layout::ROW_MAJOR, 1),
      make_test_weight("layers.0.attention.wo_matmul.weight", {64, 96}, DataType::BFLOAT16, Layout::TILE, 2),
      make_test_weight("layers.0.mlp.ff1_matmul.weight", {2, 40, 33}, tt ? DataType::BFLOAT4_B : DataType::BFLOAT16,
                       Layout::TILE, 3),
      make_test_weight("norm.weight", {1, 72}, DataType::BFLOAT16, Layout::ROW_MAJOR, 4),
  };
}

class WeightCacheDevices : public ::testing::TestWithParam<std::string> {};

TEST_P(WeightCacheDevices, ColdThenWarmIsBitIdenticalAndConvertsNothing) {
  TempDir tmp;
  auto device = Device::open(GetParam());
  const auto weights = weights_for(*device);
  std::vector<std::vector<std::byte>> cold_bytes;
  int cold_calls = 0;
  {
    TensorCacheManager cold(device, config_in(tmp.path()));
    for (const TestWeight& w : weights) {
      const Tensor t = cold.cache_weight(w.key(*device), [&] { return w.convert(&cold_calls); });
      EXPECT_EQ(t.name(), w.spec.name);
      EXPECT_EQ(t.dtype(), w.spec.dtype);
      EXPECT_EQ(t.shape(), w.spec.shape);
      EXPECT_EQ(t.device(), device.get());
      // What the cold path returns is the converted bytes, served from the file it wrote.
      EXPECT_EQ(bytes_of(t), bytes_of(from_float(w.values, w.spec)));
      EXPECT_NE(dynamic_cast<cache::CacheFileStorage*>(t.storage().get()), nullptr);
      cold_bytes.push_back(bytes_of(t));
    }
    const TensorCacheStats s = cold.stats();
    EXPECT_EQ(s.misses, 4);
    EXPECT_EQ(s.hits, 0);
    EXPECT_EQ(s.rebuilt, 0);
    EXPECT_EQ(s.write_failures, 0);
    EXPECT_GT(s.bytes_converted, 0);
    EXPECT_EQ(files_in(cold.directory()).size(), 4u);  // no temp file left behind
  }
  EXPECT_EQ(cold_calls, 4);

  int warm_calls = 0;
  TensorCacheManager warm(device, config_in(tmp.path()));
  int64_t mapped = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const TestWeight& w = weights[i];
    const Tensor t = warm.cache_weight(w.key(*device), [&] { return w.convert(&warm_calls); });
    // Zero-copy: the tensor's bytes are the mapping itself.
    auto* mapping = dynamic_cast<cache::CacheFileStorage*>(t.storage().get());
    ASSERT_NE(mapping, nullptr);
    EXPECT_GE(t.raw(), mapping->data());
    EXPECT_LE(t.raw() + t.bytes(), mapping->data() + mapping->size());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
    EXPECT_EQ(bytes_of(t), cold_bytes[i]);
    EXPECT_EQ(to_float(t), to_float(from_float(w.values, w.spec)));
    mapped += t.bytes();
  }
  EXPECT_EQ(warm_calls, 0);
  const TensorCacheStats s = warm.stats();
  EXPECT_EQ(s.hits, 4);
  EXPECT_EQ(s.misses, 0);
  EXPECT_EQ(s.bytes_converted, 0);
  EXPECT_EQ(s.bytes_mapped, mapped);
  EXPECT_EQ(s.seconds_converting, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Devices, WeightCacheDevices, ::testing::Values("cpu", "ttnn:n150"), [](const auto& info) {
  return info.param == "cpu" ? std::string("cpu") : std::string("n150");
});

TEST(WeightCache, ChangingOneKeyFieldRebuildsOnlyThatTensor) {
  TempDir tmp;
  auto device = Device::open("ttnn:n150");
  const auto weights = weights_for(*device);
  int calls = 0;
  {
    TensorCacheManager m(device, config_in(tmp.path()));
    for (const TestWeight& w : weights) (void)m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
  }
  ASSERT_EQ(calls, 4);

  // One op's dtype changed: only that weight is converted again.
  calls = 0;
  TensorCacheManager m(device, config_in(tmp.path()));
  std::vector<TestWeight> changed = weights;
  changed[1].spec.dtype = DataType::BFLOAT8_B;
  std::vector<int> per_weight(changed.size(), 0);
  for (std::size_t i = 0; i < changed.size(); ++i) {
    const Tensor t = m.cache_weight(changed[i].key(*device), [&] { return changed[i].convert(&per_weight[i]); });
    EXPECT_EQ(t.dtype(), changed[i].spec.dtype);
  }
  EXPECT_EQ(per_weight, (std::vector<int>{0, 1, 0, 0}));
  EXPECT_EQ(m.stats().hits, 3);
  EXPECT_EQ(m.stats().misses, 1);
  // The file of the old dtype is kept (a config switched back finds it again).
  EXPECT_EQ(files_in(m.directory()).size(), 5u);

  // Every other field of the key also misses: new checkpoint bytes of the same shape
  // (the hole of name-and-shape keys), the transform, the memory config, the pieces.
  const TestWeight& w = weights[0];
  int n = 0;
  auto miss_with = [&](WeightKey k, const TestWeight& src) {
    const int before = n;
    (void)m.cache_weight(k, [&] { return src.convert(&n); });
    return n - before;
  };
  TestWeight retrained = w;
  retrained.values[7] += 0.25f;
  EXPECT_EQ(miss_with(retrained.key(*device), retrained), 1);
  EXPECT_EQ(miss_with(w.key(*device, "transpose|pad"), w), 1);
  WeightKey l1 = w.key(*device);
  l1.memory_config = kL1Interleaved;
  EXPECT_EQ(miss_with(l1, w), 1);
  EXPECT_EQ(miss_with(w.key(*device), w), 0);  // and the original still hits
  EXPECT_NE(w.key(*device).hash(), l1.hash());
}

TEST(WeightCache, KeyTextListsEveryField) {
  auto device = Device::open("ttnn:n300");
  const TestWeight w =
      make_test_weight("layers.1.mlp.ff2_matmul.weight", {40, 70}, DataType::BFLOAT8_B, Layout::TILE, 9);
  const WeightKey k = w.key(*device);
  const std::string text = k.text();
  for (const char* field : {"name=layers.1.mlp.ff2_matmul.weight", "source=xxh3:", "transform=transpose",
                            "dtype=BFLOAT8_B", "layout=TILE", "shape=[40, 70]", "padded_shape=[64, 96]",
                            "memory_config=", "pieces=1", "split_dim=0", "arch=WORMHOLE_B0", "format_version=1"}) {
    EXPECT_NE(text.find(field), std::string::npos) << field << " missing from\n" << text;
  }
  WeightKey unpadded = k;
  unpadded.padded_shape = Shape{};
  EXPECT_EQ(unpadded.hash(), k.hash());  // padded_shape defaults to the layout's padding
  WeightKey other_arch = k;
  other_arch.arch = Arch::BLACKHOLE;
  EXPECT_NE(other_arch.hash(), k.hash());
  WeightKey other_version = k;
  other_version.format_version = kCacheFormatVersion + 1;
  EXPECT_NE(other_version.hash(), k.hash());
}

TEST(WeightCache, PiecesPerChipShareOneFile) {
  TempDir tmp;
  auto device = Device::open("ttnn:n300");
  const TestWeight w =
      make_test_weight("layers.0.mlp.ff1_matmul.weight", {64, 128}, DataType::BFLOAT8_B, Layout::TILE, 5);
  WeightKey key = w.key(*device, "transpose|split:1");
  key.pieces = 2;
  key.split_dim = 1;
  auto convert = [&](int* calls) {
    ++*calls;
    std::vector<Tensor> out;
    for (int chip = 0; chip < 2; ++chip) {
      std::vector<float> half;
      for (int64_t r = 0; r < 64; ++r)
        for (int64_t c = 0; c < 64; ++c) half.push_back(w.values[static_cast<std::size_t>(r * 128 + chip * 64 + c)]);
      out.push_back(from_float(half, TensorSpec{"", {64, 64}, DataType::BFLOAT8_B, Layout::TILE, {}}));
    }
    return out;
  };
  int calls = 0;
  std::vector<std::vector<std::byte>> cold;
  {
    TensorCacheManager m(device, config_in(tmp.path()));
    for (const Tensor& t : m.cache_weight_pieces(key, [&] { return convert(&calls); })) cold.push_back(bytes_of(t));
  }
  TensorCacheManager m(device, config_in(tmp.path()));
  const auto pieces = m.cache_weight_pieces(key, [&] { return convert(&calls); });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].name(), "layers.0.mlp.ff1_matmul.weight/piece0");
  EXPECT_EQ(pieces[1].name(), "layers.0.mlp.ff1_matmul.weight/piece1");
  EXPECT_EQ(pieces[0].storage(), pieces[1].storage());  // one file, one mapping
  EXPECT_EQ(bytes_of(pieces[0]), cold[0]);
  EXPECT_EQ(bytes_of(pieces[1]), cold[1]);
  EXPECT_EQ(files_in(m.directory()).size(), 1u);

  // The same weight cut for another mesh is another key.
  WeightKey four = key;
  four.pieces = 4;
  EXPECT_NE(four.hash(), key.hash());
  try {
    (void)m.cache_weight(key, [&] { return Tensor(); });
    FAIL() << "cache_weight accepted a key with pieces = 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use cache_weight_pieces"), std::string::npos) << e.what();
  }
}

TEST(WeightCache, ConversionThatDisagreesWithTheKeyIsAnError) {
  TempDir tmp;
  auto device = Device::open("cpu");
  TensorCacheManager m(device, config_in(tmp.path()));
  const TestWeight w = make_test_weight("embed.weight", {16, 8}, DataType::BFLOAT16, Layout::ROW_MAJOR, 6);
  TestWeight wrong = w;
  wrong.spec.dtype = DataType::FLOAT32;
  int calls = 0;
  try {
    (void)m.cache_weight(w.key(*device), [&] { return wrong.convert(&calls); });
    FAIL() << "a FLOAT32 tensor was filed under a BFLOAT16 key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    EXPECT_NE(std::string(e.what()).find("converting 'embed.weight' gave FLOAT32 ROW_MAJOR"), std::string::npos)
        << e.what();
  }
  WeightKey other = w.key(*Device::open("ttnn:n150"));
  try {
    (void)m.cache_weight(other, [&] { return w.convert(&calls); });
    FAIL() << "a WORMHOLE_B0 key was accepted on cpu";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is for WORMHOLE_B0 but the device 'cpu' is CPU"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(files_in(m.directory()).empty());
}

TEST(WeightCache, DisabledCacheConvertsEveryTimeAndWritesNothing) {
  TempDir tmp;
  auto device = Device::open("cpu");
  TensorCacheConfig c = config_in(tmp.path());
  c.cache_weights = false;
  TensorCacheManager m(device, c);
  const TestWeight w = make_test_weight("w", {8, 8}, DataType::FLOAT32, Layout::ROW_MAJOR, 7);
  int calls = 0;
  for (int i = 0; i < 2; ++i) {
    const Tensor t = m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
    EXPECT_EQ(to_float(t), w.values);
  }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(m.stats().misses, 2);
  EXPECT_TRUE(files_in(tmp.path()).empty());
}

TEST(WeightCache, UnwritableDirectoryServesFromMemoryAndReports) {
  TempDir tmp;
  const fs::path blocker = tmp.path() / "file-not-dir";
  std::ofstream(blocker) << "x";
  auto device = Device::open("cpu");
  TensorCacheManager m(device, config_in(blocker));  // the root is a file: nothing can be created under it
  ReportCollector reports;
  m.set_reporter(reports.fn());
  const TestWeight w = make_test_weight("w", {8, 8}, DataType::FLOAT32, Layout::ROW_MAJOR, 8);
  int calls = 0;
  const Tensor t = m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
  EXPECT_EQ(to_float(t), w.values);
  const TestWeight w2 = make_test_weight("w2", {8, 8}, DataType::FLOAT32, Layout::ROW_MAJOR, 9);
  EXPECT_EQ(to_float(m.cache_weight(w2.key(*device), [&] { return w2.convert(&calls); })), w2.values);
  EXPECT_EQ(m.stats().write_failures, 2);
  ASSERT_EQ(reports.reports.size(), 1u);  // said once, not once per weight
  EXPECT_EQ(reports.reports[0].kind(), ErrorKind::Io);
  EXPECT_NE(std::string(reports.reports[0].what()).find("served from memory"), std::string::npos);
}

TEST(WeightCache, CacheDirectoryResolution) {
  const CacheEnv both{.xdg_cache_home = "/xdg", .home = "/home/u"};
  EXPECT_EQ(resolve_cache_dir(std::nullopt, both), fs::path("/xdg/ttt"));
  EXPECT_EQ(resolve_cache_dir(std::nullopt, CacheEnv{.xdg_cache_home = std::nullopt, .home = "/home/u"}),
            fs::path("/home/u/.cache/ttt"));
  // A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
  EXPECT_EQ(resolve_cache_dir(std::nullopt, CacheEnv{.xdg_cache_home = "rel", .home = "/home/u"}),
            fs::path("/home/u/.cache/ttt"));
  EXPECT_EQ(resolve_cache_dir(std::string("/data/c"), both), fs::path("/data/c"));
  EXPECT_EQ(resolve_cache_dir(std::string("~/c"), both), fs::path("/home/u/c"));
  EXPECT_THROW((void)resolve_cache_dir(std::nullopt, CacheEnv{}), Error);
  EXPECT_THROW((void)resolve_cache_dir(std::string("~/c"), CacheEnv{}), Error);
  // The manager resolves through the same function.
  TempDir tmp;
  TensorCacheConfig c;
  c.cache_namespace = "m";
  TensorCacheManager m(Device::open("cpu"), c, CacheEnv{.xdg_cache_home = tmp.path().string(), .home = std::nullopt});
  EXPECT_EQ(m.directory(), tmp.path() / "ttt" / "m");
  c.cache_namespace = "../escape";
  EXPECT_THROW(TensorCacheManager(Device::open("cpu"), c, CacheEnv{.xdg_cache_home = "/x", .home = std::nullopt}),
               Error);
  EXPECT_NE(field_str(TensorCacheConfig{}).find("cache_namespace"), std::string::npos);
}

TEST(WeightCache, ModelNamespaceFollowsPathAndConfig) {
  TempDir tmp;
  const fs::path model = tmp.path() / "My Model";
  fs::create_directories(model);
  std::ofstream(model / "config.json") << R"({"hidden_size": 64})";
  const std::string a = model_cache_namespace(model);
  EXPECT_EQ(a.rfind("My_Model-", 0), 0u) << a;
  EXPECT_EQ(model_cache_namespace(model / "."), a);
  std::ofstream(model / "config.json") << R"({"hidden_size": 128})";
  EXPECT_NE(model_cache_namespace(model), a);
}

TEST(WeightCache, FileFingerprintTracksTheFile) {
  TempDir tmp;
  const fs::path f = tmp.path() / "w.bin";
  std::ofstream(f) << "0123456789";
  const std::string a = fingerprint_file(f, 2, 4);
  EXPECT_NE(a.find("offset=2:bytes=4"), std::string::npos) << a;
  EXPECT_NE(fingerprint_file(f, 0, 4), a);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::ofstream(f) << "0123456789ab";
  EXPECT_NE(fingerprint_file(f, 2, 4), a);
  EXPECT_THROW((void)fingerprint_file(f, 10, 4), Error);
  EXPECT_THROW((void)fingerprint_file(tmp.path() / "absent", 0, 0), Error);
  EXPECT_NE(fingerprint_bytes("ab", 2), fingerprint_bytes("ac", 2));
}

TEST(WeightCache, ProgressEventsAndBar) {
  TempDir tmp;
  auto device = Device::open("cpu");
  const auto weights = weights_for(*device);
  std::vector<CacheProgress> events;
  std::vector<std::string> names;
  int64_t total = 0;
  for (const TestWeight& w : weights) total += w.spec.bytes();
  {
    TensorCacheManager m(device, config_in(tmp.path()));
    m.set_progress([&](const CacheProgress& p) {
      events.push_back(p);
      names.emplace_back(p.tensor);
    });
    m.expect(static_cast<int64_t>(weights.size()), total);
    int calls = 0;
    for (const TestWeight& w : weights) (void)m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
    m.finish();
  }
  ASSERT_EQ(events.size(), weights.size() + 1);
  EXPECT_EQ(names[0], weights[0].spec.name);
  EXPECT_FALSE(events[0].hit);
  const CacheProgress& last = events.back();
  EXPECT_TRUE(last.finished);
  EXPECT_EQ(last.tensors_done, 4);
  EXPECT_EQ(last.tensors_built, 4);
  EXPECT_EQ(last.bytes_done, total);
  EXPECT_EQ(last.bytes_expected, total);

  EXPECT_FALSE(static_cast<bool>(stderr_progress_bar(false)));
  // Building prints a summary with the rate; a warm start prints nothing.
  for (int round = 0; round < 2; ++round) {
    TempDir fresh;
    const fs::path root = round == 0 ? fresh.path() : tmp.path();
    TensorCacheManager m(device, config_in(root));
    m.set_progress(stderr_progress_bar(true));
    m.expect(static_cast<int64_t>(weights.size()), total);
    ::testing::internal::CaptureStderr();
    int calls = 0;
    for (const TestWeight& w : weights) (void)m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
    m.finish();
    const std::string err = ::testing::internal::GetCapturedStderr();
    if (round == 0) {
      EXPECT_NE(err.find("built 4 tensor(s)"), std::string::npos) << err;
      EXPECT_NE(err.find("MB/s"), std::string::npos) << err;
    } else {
      EXPECT_EQ(err, "");
    }
  }
}

// Several managers (as separate processes would) build the same weight at once.
TEST(WeightCacheConcurrency, ThreadsBuildingTheSameWeightLeaveOneValidFile) {
  TempDir tmp;
  auto device = Device::open("cpu");
  const TestWeight w =
      make_test_weight("layers.0.attention.qkv_matmul.weight", {256, 384}, DataType::BFLOAT16, Layout::TILE, 11);
  const auto expected = bytes_of(from_float(w.values, w.spec));
  constexpr int kThreads = 4;
  std::latch start(kThreads);
  std::vector<std::vector<std::byte>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      TensorCacheManager m(device, config_in(tmp.path()));
      int calls = 0;
      start.arrive_and_wait();
      got[static_cast<std::size_t>(i)] = bytes_of(m.cache_weight(w.key(*device), [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // keep the builds overlapping
        return w.convert(&calls);
      }));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
  const auto files = files_in(tmp.path() / "test-model");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(verify_cache_file(files[0]), "");
}

TEST(WeightCacheConcurrency, ProcessesBuildingTheSameWeightLeaveOneValidFile) {
  TempDir tmp;
  auto device = Device::open("cpu");
  const TestWeight w =
      make_test_weight("layers.1.mlp.ff2_matmul.weight", {320, 256}, DataType::FLOAT32, Layout::TILE, 12);
  const auto expected = bytes_of(from_float(w.values, w.spec));
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)!::read(go[0], &c, 1);  // both children start building together
      int code = 1;
      try {
        TensorCacheManager m(device, config_in(tmp.path()));
        int calls = 0;
        const Tensor t = m.cache_weight(w.key(*device), [&] { return w.convert(&calls); });
        // A child that starts after the other has renamed its file into place hits
        // the cache instead of converting: either way it must see the right bytes.
        code = bytes_of(t) == expected && calls <= 1 ? 0 : 2;
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // EOF releases both readers at once
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  const auto files = files_in(tmp.path() / "test-model");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(verify_cache_file(files[0]), "");
  TensorCacheManager m(device, config_in(tmp.path()));
  int calls = 0;
  EXPECT_EQ(bytes_of(m.cache_weight(w.key(*device), [&] { return w.convert(&calls); })), expected);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace ttt::test
