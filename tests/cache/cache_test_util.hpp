// Shared helpers of the cache tests: a private temp directory, deterministic weights,
// file surgery for corruption tests, a report collector.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ttt/formats.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ttt-cache-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<std::byte> bytes_of(const Tensor& t) { return {t.raw(), t.raw() + t.bytes()}; }

inline TensorCacheConfig config_in(const fs::path& root, std::string ns = "test-model") {
  TensorCacheConfig c;
  c.cache_dir = root.string();
  c.cache_namespace = std::move(ns);
  return c;
}

// One weight to cache: its stored spec, its source values and a converter counting calls.
struct TestWeight {
  TensorSpec spec;
  std::vector<float> values;
  std::string source() const { return fingerprint_bytes(values.data(), values.size() * sizeof(float)); }
  WeightKey key(const Device& device, std::string transform = "transpose") const {
    return make_weight_key(spec, source(), std::move(transform), device.spec());
  }
  Tensor convert(int* calls) const {
    ++*calls;
    return from_float(values, spec);
  }
};

inline TestWeight make_test_weight(std::string name, Shape shape, DataType dtype, Layout layout, uint32_t seed) {
  TestWeight w;
  w.spec = TensorSpec{std::move(name), shape, dtype, layout, {}};
  w.values = random_values(shape.volume(), seed);
  return w;
}

inline void flip_bit(const fs::path& file, uint64_t offset, int bit) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ (1 << bit));
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

inline void write_u32(const fs::path& file, uint64_t offset, uint32_t v) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(&v), sizeof(v));
}

inline std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct ReportCollector {
  std::vector<Error> reports;
  CacheReportFn fn() {
    return [this](const Error& e) { reports.push_back(e); };
  }
};

}  // namespace ttt::test
