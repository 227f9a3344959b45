#include "ttt/models/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "models/json_util.hpp"
#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {
namespace {

using model_detail::Json;

// The format's own cap (safetensors refuses larger headers); it also stops a corrupt
// length from making us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// Every dtype the format defines; the ones outside WeightDType are Unsupported, not corrupt.
constexpr std::string_view kOtherDTypes[] = {"F64", "F8_E4M3", "F8_E5M2", "I8", "I16", "I32", "I64",
                                             "U8",  "U16",     "U32",     "U64", "BOOL"};

uint64_t read_le_u64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

WeightDType parse_dtype(const std::string& name, const std::string& tensor, const std::filesystem::path& file) {
  WeightDType t{};
  if (name == "F32" || name == "F16" || name == "BF16") {
    try_parse_enum(name, t);
    return t;
  }
  const bool known = std::find(std::begin(kOtherDTypes), std::end(kOtherDTypes), name) != std::end(kOtherDTypes);
  fail(known ? ErrorKind::Unsupported : ErrorKind::ModelFormat,
       "{}: tensor '{}' has dtype '{}' ({}); ttt reads F32, F16 and BF16", file.string(), tensor, name,
       known ? "not supported" : "not a safetensors dtype");
}

// Non-negative integers only; the message names the tensor and the field.
std::vector<uint64_t> uint_list(const Json& v, const std::string& tensor, std::string_view field,
                                const std::filesystem::path& file) {
  if (!v.is_array()) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}': field '{}' must be a list of non-negative integers, found {}",
         file.string(), tensor, field, model_detail::describe(v));
  }
  std::vector<uint64_t> out;
  for (const Json& e : v) {
    if (!e.is_number_unsigned() && !(e.is_number_integer() && e.get<int64_t>() >= 0)) {
      fail(ErrorKind::ModelFormat, "{}: tensor '{}': field '{}' must be a list of non-negative integers, found {}",
           file.string(), tensor, field, model_detail::describe(v));
    }
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

WeightInfo parse_entry(const std::string& name, const Json& v, uint64_t data_start, uint64_t data_bytes,
                       const std::filesystem::path& file) {
  if (!v.is_object()) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}' must be an object with dtype, shape and data_offsets, found {}",
         file.string(), name, model_detail::describe(v));
  }
  for (std::string_view key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) fail(ErrorKind::ModelFormat, "{}: tensor '{}': missing field '{}'", file.string(), name, key);
  }
  const Json& dtype = v.at("dtype");
  if (!dtype.is_string()) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}': field 'dtype' must be a string, found {}", file.string(), name,
         model_detail::describe(dtype));
  }
  WeightInfo info;
  info.name = name;
  info.file = file;
  info.dtype = parse_dtype(dtype.get<std::string>(), name, file);

  const auto dims = uint_list(v.at("shape"), name, "shape", file);
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    fail(ErrorKind::Unsupported, "{}: tensor '{}': field 'shape' has rank {}; at most {} dims are supported",
         file.string(), name, dims.size(), Shape::kMaxRank);
  }
  uint64_t bytes = static_cast<uint64_t>(weight_dtype_bytes(info.dtype));
  for (uint64_t d : dims) {
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, d, &bytes)) {
      fail(ErrorKind::ModelFormat, "{}: tensor '{}': field 'shape' {} overflows", file.string(), name,
           v.at("shape").dump());
    }
    info.shape.push_back(static_cast<int64_t>(d));
  }

  const auto offsets = uint_list(v.at("data_offsets"), name, "data_offsets", file);
  if (offsets.size() != 2) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}': field 'data_offsets' must be [begin, end], found {}",
         file.string(), name, v.at("data_offsets").dump());
  }
  const uint64_t begin = offsets[0], end = offsets[1];
  if (begin > end) {
    fail(ErrorKind::ModelFormat, "{}: tensor '{}': field 'data_offsets' [{}, {}] has begin after end",
         file.string(), name, begin, end);
  }
  if (end > data_bytes) {
    fail(ErrorKind::ModelFormat,
         "{}: tensor '{}': field 'data_offsets' [{}, {}] ends past the data section ({} bytes after the header)",
         file.string(), name, begin, end, data_bytes);
  }
  if (end - begin != bytes) {
    fail(ErrorKind::ModelFormat,
         "{}: tensor '{}': field 'data_offsets' [{}, {}] spans {} bytes but field 'shape' {} of {} needs {}",
         file.string(), name, begin, end, end - begin, info.shape.str(), to_string(info.dtype), bytes);
  }
  info.offset = data_start + begin;
  info.size = bytes;
  return info;
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: shift the mantissa up until its leading one becomes the implicit bit.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

MappedFileStorage::MappedFileStorage(const std::filesystem::path& file) : path_(file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::ModelFormat, "{}: cannot open: {}", file.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::ModelFormat, "{}: not a regular file", file.string());
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail(ErrorKind::ModelFormat, "{}: mmap of {} bytes failed: {}", file.string(), size_,
                              std::strerror(err));
    data_ = static_cast<std::byte*>(p);
  } else {
    ::close(fd);
  }
}

MappedFileStorage::~MappedFileStorage() {
  if (data_) ::munmap(data_, size_);
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& file)
    : storage_(std::make_shared<MappedFileStorage>(file)) {
  const uint64_t file_bytes = storage_->size();
  if (file_bytes < 8) {
    fail(ErrorKind::ModelFormat, "{}: file is {} bytes; a safetensors file starts with an 8-byte header length",
         file.string(), file_bytes);
  }
  const std::byte* base = storage_->cdata();
  const uint64_t header_len = read_le_u64(base);
  if (header_len > file_bytes - 8) {
    fail(ErrorKind::ModelFormat, "{}: header length {} runs past the end of the file ({} bytes, {} after the length)",
         file.string(), header_len, file_bytes, file_bytes - 8);
  }
  if (header_len > kMaxHeaderBytes) {
    fail(ErrorKind::ModelFormat, "{}: header length {} exceeds the format's limit of {} bytes", file.string(),
         header_len, kMaxHeaderBytes);
  }
  const std::string_view header_text(reinterpret_cast<const char*>(base + 8), header_len);
  const Json header = model_detail::parse_json(header_text, file);
  if (!header.is_object()) {
    fail(ErrorKind::ModelFormat, "{}: header must be a JSON object, found {}", file.string(),
         model_detail::describe(header));
  }
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_bytes = file_bytes - data_start;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) {
        fail(ErrorKind::ModelFormat, "{}: field '__metadata__' must be an object of strings, found {}",
             file.string(), model_detail::describe(value));
      }
      for (const auto& [mk, mv] : value.items()) metadata_[mk] = mv.is_string() ? mv.get<std::string>() : mv.dump();
      continue;
    }
    tensors_.emplace(key, parse_entry(key, value, data_start, data_bytes, file));
  }

  // No two tensors may share bytes: sort by start and compare neighbours.
  std::vector<const WeightInfo*> order;
  for (const auto& [name, info] : tensors_) {
    if (info.size > 0) order.push_back(&info);
  }
  std::sort(order.begin(), order.end(), [](const WeightInfo* a, const WeightInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    const WeightInfo& prev = *order[i - 1];
    const WeightInfo& cur = *order[i];
    if (cur.offset < prev.offset + prev.size) {
      fail(ErrorKind::ModelFormat,
           "{}: field 'data_offsets' of tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", file.string(), prev.name,
           prev.offset - data_start, prev.offset - data_start + prev.size, cur.name, cur.offset - data_start,
           cur.offset - data_start + cur.size);
    }
  }
}

SafetensorsWeights SafetensorsWeights::open_file(const std::filesystem::path& safetensors_file) {
  SafetensorsFile f(safetensors_file);
  SafetensorsWeights ws;
  ws.source_ = safetensors_file;
  for (const auto& [name, info] : f.tensors()) ws.entries_.emplace(name, Entry{info, f.storage()});
  return ws;
}

SafetensorsWeights SafetensorsWeights::open_index(const std::filesystem::path& index_json) {
  const Json root = model_detail::read_json_file(index_json);
  const model_detail::JsonObject index(root, index_json);
  const Json& map = index.require("weight_map");
  if (!map.is_object() || map.empty()) index.wrong_type("weight_map", map, "a non-empty object of tensor -> file");

  const auto dir = index_json.parent_path();
  std::map<std::string, std::unique_ptr<SafetensorsFile>> shards;
  SafetensorsWeights ws;
  ws.source_ = index_json;
  for (const auto& [name, shard] : map.items()) {
    if (!shard.is_string()) {
      fail(ErrorKind::ModelFormat, "{}: field 'weight_map.{}' must be a file name, found {}", index_json.string(),
           name, model_detail::describe(shard));
    }
    const std::string shard_name = shard.get<std::string>();
    // Shards live beside the index: a path that leaves the directory is refused.
    const std::filesystem::path rel(shard_name);
    if (shard_name.empty() || rel.is_absolute() || rel.has_parent_path()) {
      fail(ErrorKind::ModelFormat, "{}: field 'weight_map.{}' is '{}'; expected a file name in the same directory",
           index_json.string(), name, shard_name);
    }
    auto it = shards.find(shard_name);
    if (it == shards.end()) {
      const auto path = dir / rel;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        fail(ErrorKind::ModelFormat, "{}: field 'weight_map.{}' names shard '{}', which does not exist ({})",
             index_json.string(), name, shard_name, path.string());
      }
      it = shards.emplace(shard_name, std::make_unique<SafetensorsFile>(path)).first;
    }
    const auto& tensors = it->second->tensors();
    auto t = tensors.find(name);
    if (t == tensors.end()) {
      fail(ErrorKind::ModelFormat, "{}: field 'weight_map.{}' names shard '{}', which has no tensor '{}'",
           index_json.string(), name, shard_name, name);
    }
    ws.entries_.emplace(name, Entry{t->second, it->second->storage()});
  }
  return ws;
}

SafetensorsWeights SafetensorsWeights::open(const std::filesystem::path& model_dir) {
  std::error_code ec;
  const auto index = model_dir / "model.safetensors.index.json";
  if (std::filesystem::exists(index, ec)) return open_index(index);
  const auto single = model_dir / "model.safetensors";
  if (std::filesystem::exists(single, ec)) return open_file(single);
  fail(ErrorKind::ModelFormat, "{}: neither model.safetensors nor model.safetensors.index.json exists",
       model_dir.string());
}

std::vector<std::string> SafetensorsWeights::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

bool SafetensorsWeights::has(std::string_view name) const { return entries_.find(name) != entries_.end(); }

const SafetensorsWeights::Entry& SafetensorsWeights::entry(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    fail(ErrorKind::ModelFormat, "{}: no tensor '{}' (the source holds {} tensors)", source_.string(), name,
         entries_.size());
  }
  return it->second;
}

const WeightInfo& SafetensorsWeights::info(std::string_view name) const { return entry(name).info; }

std::span<const std::byte> SafetensorsWeights::raw(std::string_view name) const {
  const Entry& e = entry(name);
  return {e.storage->cdata() + e.info.offset, static_cast<std::size_t>(e.info.size)};
}

void SafetensorsWeights::load_float(std::string_view name, std::span<float> out) const {
  const Entry& e = entry(name);
  const auto n = static_cast<std::size_t>(e.info.elements());
  TTT_CHECK(out.size() == n, ShapeMismatch, "load_float('{}'): the tensor has {} elements ({}), the output holds {}",
            name, n, e.info.shape.str(), out.size());
  if (n == 0) return;
  const std::byte* src = e.storage->cdata() + e.info.offset;
  // memcpy per element: the data section need not be aligned for its dtype.
  switch (e.info.dtype) {
    case WeightDType::F32: std::memcpy(out.data(), src, n * 4); break;
    case WeightDType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        out[i] = bfloat16_to_float(b);
      }
      break;
    case WeightDType::F16:
      for (std::size_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        out[i] = half_to_float(b);
      }
      break;
  }
}

std::vector<float> SafetensorsWeights::load_float(std::string_view name) const {
  std::vector<float> out(static_cast<std::size_t>(info(name).elements()));
  load_float(name, out);
  return out;
}

Tensor SafetensorsWeights::load_tensor(std::string_view name) const {
  const WeightInfo& i = info(name);
  Tensor t = Tensor::empty(TensorSpec{.name = i.name, .shape = i.shape});
  load_float(name, std::span<float>(t.data<float>(), static_cast<std::size_t>(i.elements())));
  return t;
}

Tensor SafetensorsWeights::mapped(std::string_view name) const {
  const Entry& e = entry(name);
  TTT_CHECK(e.info.dtype != WeightDType::F16, Unsupported,
            "{}: tensor '{}' is F16, which has no ttt dtype to map it as; use load_float or load_tensor",
            e.info.file.string(), name);
  TensorSpec spec{.name = e.info.name,
                  .shape = e.info.shape,
                  .dtype = e.info.dtype == WeightDType::F32 ? DataType::FLOAT32 : DataType::BFLOAT16};
  return Tensor(std::move(spec), e.storage, static_cast<std::size_t>(e.info.offset));
}

}  // namespace ttt

namespace ttt {

std::string SafetensorsWeights::fingerprint(std::string_view name) const {
  const WeightInfo& wi = info(name);
  struct stat st {};
  std::string id;
  if (::stat(wi.file.c_str(), &st) == 0) {
    id = fmt::format("file:{}:size={}:mtime={}.{}:ino={}:dev={}", std::filesystem::absolute(wi.file).string(),
                     static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                     static_cast<long long>(st.st_mtim.tv_nsec), static_cast<unsigned long long>(st.st_ino),
                     static_cast<unsigned long long>(st.st_dev));
  } else {
    id = "file:" + wi.file.string();
  }
  return fmt::format("{}:offset={}:bytes={}:dtype={}", id, wi.offset, wi.size, to_string(wi.dtype));
}

}  // namespace ttt
