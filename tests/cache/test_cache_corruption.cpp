// Damaged, stale and foreign cache files: each is detected when first used, reported
// (CacheCorrupt, naming the file and the fault), deleted, rebuilt, and never used.
#include <gtest/gtest.h>

#include <functional>

#include "cache/cache_file.hpp"
#include "cache_test_util.hpp"
#include "ttt/device.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::test {
namespace {

struct Damage {
  const char* name;
  // Damages the file of `key` (whose header is `h`); may use the manager to build others.
  std::function<void(const fs::path& file, const cache::HeaderRecord& h, TensorCacheManager& m)> apply;
  const char* expect;  // in the report and in verify_cache_file's answer
};

class CacheCorruption : public ::testing::TestWithParam<Damage> {};

TestWeight victim() {
  return make_test_weight("layers.0.attention.qkv_matmul.weight", {64, 96}, DataType::BFLOAT16, Layout::TILE, 21);
}
TestWeight neighbour() {
  return make_test_weight("layers.1.attention.qkv_matmul.weight", {64, 96}, DataType::BFLOAT16, Layout::TILE, 22);
}

TEST_P(CacheCorruption, IsDetectedReportedDeletedAndRebuilt) {
  const Damage& damage = GetParam();
  TempDir tmp;
  auto device = Device::open("cpu");
  const TestWeight w = victim();
  const WeightKey key = w.key(*device);
  const auto good = bytes_of(from_float(w.values, w.spec));
  fs::path file;
  {
    TensorCacheManager m(device, config_in(tmp.path()));
    int calls = 0;
    (void)m.cache_weight(key, [&] { return w.convert(&calls); });
    file = m.file_for(key);
    ASSERT_TRUE(fs::exists(file));
    const cache::HeaderRecord h = cache::open_verified(file, true)->header;
    damage.apply(file, h, m);
  }
  const std::string found = verify_cache_file(file);
  EXPECT_NE(found.find(damage.expect), std::string::npos) << "verify said: " << found;

  TensorCacheManager m(device, config_in(tmp.path()));
  ReportCollector reports;
  m.set_reporter(reports.fn());
  int calls = 0;
  const Tensor t = m.cache_weight(key, [&] { return w.convert(&calls); });
  EXPECT_EQ(calls, 1);           // rebuilt...
  EXPECT_EQ(bytes_of(t), good);  // ...and the damaged bytes never used
  EXPECT_EQ(m.stats().rebuilt, 1);
  ASSERT_EQ(reports.reports.size(), 1u);
  const Error& r = reports.reports[0];
  EXPECT_EQ(r.kind(), ErrorKind::CacheCorrupt);
  const std::string msg = r.what();
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find(damage.expect), std::string::npos) << msg;
  EXPECT_NE(msg.find("deleting it and rebuilding"), std::string::npos) << msg;
  EXPECT_EQ(verify_cache_file(file), "");  // the rebuilt file is sound

  // And the next start is a clean hit.
  TensorCacheManager again(device, config_in(tmp.path()));
  calls = 0;
  EXPECT_EQ(bytes_of(again.cache_weight(key, [&] { return w.convert(&calls); })), good);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(again.stats().rebuilt, 0);
}

const Damage kDamages[] = {
    {"TruncatedPayload",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) {
       fs::resize_file(f, fs::file_size(f) - 100);
     },
     "truncated"},
    {"TruncatedHeader",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) { fs::resize_file(f, 40); },
     "truncated: 40 bytes"},
    {"EmptyFile", [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) { fs::resize_file(f, 0); },
     "truncated: 0 bytes"},
    {"PayloadBitFlip",
     [](const fs::path& f, const cache::HeaderRecord& h, TensorCacheManager&) {
       flip_bit(f, h.entries[0].offset + 777, 3);
     },
     "payload checksum mismatch in tensor 'layers.0.attention.qkv_matmul.weight'"},
    {"HeaderBitFlipInTable",
     [](const fs::path& f, const cache::HeaderRecord& h, TensorCacheManager&) { flip_bit(f, h.header_size - 20, 0); },
     "header checksum mismatch"},
    {"HeaderBitFlipInKey",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) { flip_bit(f, 80, 5); },
     "header checksum mismatch"},
    {"HeaderSizeDamaged",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) { write_u32(f, 12, 1u << 30); },
     "header size 1073741824 lies outside the file"},
    {"BadMagic", [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) { flip_bit(f, 0, 1); },
     "bad magic"},
    {"WrongVersion",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) {
       write_u32(f, 8, kCacheFormatVersion + 1);
     },
     "format version 2; this build reads version 1"},
    {"AnotherTensorsFileRenamedIntoPlace",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager& m) {
       const TestWeight other = neighbour();
       const WeightKey k = other.key(m.device());
       int calls = 0;
       (void)m.cache_weight(k, [&] { return other.convert(&calls); });
       fs::rename(m.file_for(k), f);
     },
     "it holds tensor 'layers.1.attention.qkv_matmul.weight'"},
    {"AnotherModelsFileOfTheSameNameRenamedIntoPlace",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager& m) {
       // Same tensor name, shape and format, other checkpoint: only the key tells them apart.
       TestWeight other = victim();
       other.values = random_values(other.spec.shape.volume(), 99);
       const WeightKey k = other.key(m.device());
       int calls = 0;
       (void)m.cache_weight(k, [&] { return other.convert(&calls); });
       fs::copy_file(m.file_for(k), f, fs::copy_options::overwrite_existing);
     },
     "a file renamed or copied into place"},
    {"NotACacheFile",
     [](const fs::path& f, const cache::HeaderRecord&, TensorCacheManager&) {
       std::ofstream(f, std::ios::trunc) << std::string(4096, 'z');
     },
     "bad magic"},
};

INSTANTIATE_TEST_SUITE_P(Faults, CacheCorruption, ::testing::ValuesIn(kDamages),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CacheFileFormat, HeaderRoundTripsAndPayloadsAreAligned) {
  TempDir tmp;
  auto device = Device::open("ttnn:n150");
  const TestWeight w = make_test_weight("tok_embeddings.weight", {33, 65}, DataType::BFLOAT8_B, Layout::TILE, 31);
  WeightKey key = w.key(*device);
  key.memory_config = MemoryConfig{TensorMemoryLayout::WIDTH_SHARDED, BufferType::DRAM,
                                   ShardSpec{{12, 1}, {64, 32}, ShardOrientation::ROW_MAJOR}};
  TensorCacheManager m(device, config_in(tmp.path()));
  int calls = 0;
  const Tensor t = m.cache_weight(key, [&] { return w.convert(&calls); });
  EXPECT_EQ(t.memory_config(), key.memory_config);
  const auto s = cache::open_verified(m.file_for(key), true);
  const cache::HeaderRecord& h = s->header;
  EXPECT_EQ(h.version, kCacheFormatVersion);
  EXPECT_EQ(h.key_hash, key.hash());
  EXPECT_EQ(h.key_text, key.text());
  ASSERT_EQ(h.entries.size(), 1u);
  const cache::EntryRecord& e = h.entries[0];
  EXPECT_EQ(e.name, "tok_embeddings.weight");
  EXPECT_EQ(e.shape, (Shape{33, 65}));
  EXPECT_EQ(e.padded, (Shape{64, 96}));
  EXPECT_EQ(e.memory_config, key.memory_config);
  EXPECT_EQ(e.memory_text, key.memory_config.str());
  EXPECT_EQ(e.offset % 64, 0u);
  EXPECT_EQ(e.size, static_cast<uint64_t>(6 * tile_bytes(DataType::BFLOAT8_B)));
  EXPECT_EQ(h.file_size, fs::file_size(m.file_for(key)));
  EXPECT_EQ(m.file_for(key).filename().string(), fmt::format("tok_embeddings.weight.{:016x}.tttc", key.hash()));
}

TEST(CacheFileFormat, NamesAreSanitizedAndCheckedAgainstTheHeader) {
  EXPECT_EQ(cache::file_name("a/b c", 0x1234), "a_b_c.0000000000001234.tttc");
  EXPECT_EQ(cache::file_name(".hidden", 1), "_.hidden.0000000000000001.tttc");
  EXPECT_TRUE(cache::is_cache_file("x.0000000000000001.tttc"));
  EXPECT_FALSE(cache::is_cache_file("x.0000000000000001.tttc.tmp.1.2.3"));
  EXPECT_TRUE(cache::is_temp_file("x.0000000000000001.tttc.tmp.1.2.3"));
}

TEST(CacheFileFormat, LeftoverTempFilesAreNotCacheFilesAndOldOnesAreSwept) {
  TempDir tmp;
  auto device = Device::open("cpu");
  const fs::path dir = tmp.path() / "test-model";
  fs::create_directories(dir);
  const fs::path old_tmp = dir / "w.0000000000000001.tttc.tmp.1.0.abcd";
  const fs::path new_tmp = dir / "w.0000000000000001.tttc.tmp.2.0.abcd";
  std::ofstream(old_tmp) << "partial";
  std::ofstream(new_tmp) << "partial";
  fs::last_write_time(old_tmp, fs::file_time_type::clock::now() - std::chrono::hours(2));
  TensorCacheManager m(device, config_in(tmp.path()));
  EXPECT_FALSE(fs::exists(old_tmp));  // left by a crashed build
  EXPECT_TRUE(fs::exists(new_tmp));   // may belong to a live builder
}

TEST(CacheFileFormat, PayloadChecksDeferredWhenDisabledThenDoneOnDemand) {
  TempDir tmp;
  auto device = Device::open("cpu");
  const TestWeight w = victim();
  const WeightKey key = w.key(*device);
  fs::path file;
  {
    TensorCacheManager m(device, config_in(tmp.path()));
    int calls = 0;
    (void)m.cache_weight(key, [&] { return w.convert(&calls); });
    file = m.file_for(key);
  }
  const auto h = cache::open_verified(file, false)->header;
  flip_bit(file, h.entries[0].offset + 5, 0);
  TensorCacheConfig fast = config_in(tmp.path());
  fast.verify_payloads = false;
  TensorCacheManager unchecked(device, fast);
  int calls = 0;
  const Tensor kept = unchecked.cache_weight(key, [&] { return w.convert(&calls); });
  EXPECT_EQ(calls, 0);  // header and key are sound: with payload checks off, it is used
  // A manager that wants payload checks checks the shared mapping before using it.
  TensorCacheManager checked(device, config_in(tmp.path()));
  ReportCollector reports;
  checked.set_reporter(reports.fn());
  (void)checked.cache_weight(key, [&] { return w.convert(&calls); });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(reports.reports.size(), 1u);
  EXPECT_NE(std::string(reports.reports[0].what()).find("payload checksum mismatch"), std::string::npos);
}

}  // namespace
}  // namespace ttt::test
