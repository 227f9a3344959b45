// Safetensors weights, one file or sharded with model.safetensors.index.json, memory
// mapped read-only. Headers are validated in full when a file is opened; every error
// names the file and the field (ModelFormat, or Unsupported for a dtype we do not read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/enum.hpp"
#include "ttt/shape.hpp"
#include "ttt/tensor.hpp"
#include "ttt/weight_source.hpp"

namespace ttt {

// The safetensors dtypes we read, spelled as the format spells them.
TTT_ENUM(WeightDType, F32, F16, BF16)

constexpr int64_t weight_dtype_bytes(WeightDType t) { return t == WeightDType::F32 ? 4 : 2; }

// A read-only private mapping of a whole file. The pages must never be written:
// data() is non-const only because Storage says so.
class MappedFileStorage final : public Storage {
 public:
  explicit MappedFileStorage(const std::filesystem::path& file);  // ModelFormat when it cannot be mapped
  ~MappedFileStorage() override;
  MappedFileStorage(const MappedFileStorage&) = delete;
  MappedFileStorage& operator=(const MappedFileStorage&) = delete;

  std::byte* data() override { return data_; }
  const std::byte* cdata() const { return data_; }
  std::size_t size() const override { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Where one tensor lives: enough to fingerprint it for caches.
struct WeightInfo {
  std::string name;
  Shape shape;
  WeightDType dtype = WeightDType::F32;
  std::filesystem::path file;
  uint64_t offset = 0;  // from the start of the file
  uint64_t size = 0;    // bytes
  int64_t elements() const { return shape.volume(); }
};

// One safetensors file: the mapping and its validated header.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& file);

  const std::filesystem::path& path() const { return storage_->path(); }
  const std::map<std::string, WeightInfo, std::less<>>& tensors() const { return tensors_; }
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }
  const std::shared_ptr<MappedFileStorage>& storage() const { return storage_; }

 private:
  std::shared_ptr<MappedFileStorage> storage_;
  std::map<std::string, WeightInfo, std::less<>> tensors_;
  std::map<std::string, std::string, std::less<>> metadata_;
};

// The weights of a model directory as a named map of host tensors. Copies share the
// mappings; a mapping lives as long as a SafetensorsWeights or a tensor from mapped() uses it.
class SafetensorsWeights final : public WeightSource {
 public:
  SafetensorsWeights() = default;

  // <dir>/model.safetensors.index.json when present, else <dir>/model.safetensors.
  static SafetensorsWeights open(const std::filesystem::path& model_dir);
  static SafetensorsWeights open_file(const std::filesystem::path& safetensors_file);
  static SafetensorsWeights open_index(const std::filesystem::path& index_json);

  std::vector<std::string> names() const override;  // sorted
  bool has(std::string_view name) const override;
  Shape shape(std::string_view name) const override { return info(name).shape; }
  std::vector<float> load(std::string_view name) const override { return load_float(name); }
  // The tensor's file identity (path, size, mtime, inode) with its offset and size: a
  // changed checkpoint changes the fingerprint without hashing gigabytes.
  std::string fingerprint(std::string_view name) const override;
  std::string describe() const override { return source_.string(); }
  std::string describe(std::string_view name) const override { return info(name).file.string(); }
  std::size_t size() const { return entries_.size(); }
  // ModelFormat naming the tensor and the source when absent.
  const WeightInfo& info(std::string_view name) const;

  // The stored bytes, little-endian, as in the file.
  std::span<const std::byte> raw(std::string_view name) const;
  // Values converted to float (F16 and BF16 widen exactly).
  std::vector<float> load_float(std::string_view name) const;
  void load_float(std::string_view name, std::span<float> out) const;  // ShapeMismatch on size
  // A FLOAT32 ROW_MAJOR host tensor holding a copy of the values.
  Tensor load_tensor(std::string_view name) const;
  // A tensor over the mapping itself, no copy: F32 -> FLOAT32, BF16 -> BFLOAT16,
  // ROW_MAJOR (F16 has no ttt dtype: Unsupported). It must not be written to.
  Tensor mapped(std::string_view name) const;

  // What was opened (the index file or the single safetensors file), for messages.
  const std::filesystem::path& source() const { return source_; }

 private:
  struct Entry {
    WeightInfo info;
    std::shared_ptr<MappedFileStorage> storage;
  };
  const Entry& entry(std::string_view name) const;

  std::filesystem::path source_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Element conversions used by load_float (exact).
float half_to_float(uint16_t bits);

}  // namespace ttt
