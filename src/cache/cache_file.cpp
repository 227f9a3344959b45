#include "cache/cache_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>

#include "ttt/enum.hpp"
#include "ttt/error.hpp"
#include "ttt/fields.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::cache {

namespace {

[[noreturn]] void corrupt(const std::string& what) { throw Error(ErrorKind::CacheCorrupt, what); }

class Writer {
 public:
  template <typename T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view s) {
    put(static_cast<uint32_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
  }
  void put_shape(const Shape& s) {
    for (int64_t d : s) put(d);
  }
  std::vector<std::byte> out;
};

// Bounds-checked reads inside [0, end) of the header: a table that claims more than the
// header holds is reported, never read past.
class Reader {
 public:
  Reader(const std::byte* data, std::size_t pos, std::size_t end) : data_(data), pos_(pos), end_(end) {}
  template <typename T>
  T get(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string(std::string_view what) {
    const auto n = get<uint32_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  Shape get_shape(int rank, std::string_view what) {
    Shape s;
    for (int i = 0; i < rank; ++i) {
      const auto d = get<int64_t>(what);
      if (d < 0) corrupt(fmt::format("{} has a negative dim {}", what, d));
      s.push_back(d);
    }
    return s;
  }
  std::size_t pos() const { return pos_; }

 private:
  void need(std::size_t n, std::string_view what) {
    if (n > end_ - pos_)
      corrupt(fmt::format("the table runs past the end of the header ({} bytes) reading {}", end_, what));
  }
  const std::byte* data_;
  std::size_t pos_;
  std::size_t end_;
};

template <typename E>
E get_enum(Reader& r, std::string_view what) {
  const auto v = r.get<uint8_t>(what);
  if (v >= enum_count<E>()) corrupt(fmt::format("{} has value {}, outside 0..{}", what, v, enum_count<E>() - 1));
  return static_cast<E>(v);
}

uint64_t header_checksum(const std::byte* data, std::size_t header_size) {
  const uint64_t first = hash_bytes(data, 24);
  return hash_bytes(data + 32, header_size - 32, first);
}

std::size_t align_up(std::size_t v) { return (v + kPayloadAlignment - 1) / kPayloadAlignment * kPayloadAlignment; }

void write_memory_config(Writer& w, const MemoryConfig& m) {
  w.put(static_cast<uint8_t>(m.memory_layout));
  w.put(static_cast<uint8_t>(m.buffer_type));
  w.put(static_cast<uint8_t>(m.shard_spec.has_value()));
  const ShardSpec ss = m.shard_spec.value_or(ShardSpec{});
  w.put(static_cast<uint8_t>(ss.orientation));
  w.put(static_cast<int32_t>(ss.grid.x));
  w.put(static_cast<int32_t>(ss.grid.y));
  w.put(ss.shape[0]);
  w.put(ss.shape[1]);
}

MemoryConfig read_memory_config(Reader& r, const std::string& what) {
  MemoryConfig m;
  m.memory_layout = get_enum<TensorMemoryLayout>(r, what + " memory layout");
  m.buffer_type = get_enum<BufferType>(r, what + " buffer type");
  const auto has_shard = r.get<uint8_t>(what + " shard flag");
  ShardSpec ss;
  ss.orientation = get_enum<ShardOrientation>(r, what + " shard orientation");
  ss.grid.x = r.get<int32_t>(what + " shard grid");
  ss.grid.y = r.get<int32_t>(what + " shard grid");
  ss.shape[0] = r.get<int64_t>(what + " shard shape");
  ss.shape[1] = r.get<int64_t>(what + " shard shape");
  if (has_shard > 1) corrupt(fmt::format("{} shard flag is {}, not 0 or 1", what, has_shard));
  if (has_shard) m.shard_spec = ss;
  return m;
}

}  // namespace

std::vector<std::byte> encode_header(HeaderRecord& h) {
  Writer w;
  w.out.resize(kFixedHeaderBytes);
  w.put_string(h.key_name);
  w.put_string(h.key_text);
  // Sizes of the table do not depend on the offsets, so write it once with zero
  // offsets to learn the header size, then again with the real ones.
  for (int pass = 0; pass < 2; ++pass) {
    Writer t;
    for (const EntryRecord& e : h.entries) {
      t.put_string(e.name);
      t.put(e.key_hash);
      t.put(static_cast<uint8_t>(e.dtype));
      t.put(static_cast<uint8_t>(e.layout));
      t.put(static_cast<uint8_t>(e.shape.rank()));
      t.put(static_cast<uint8_t>(e.padded.rank()));
      t.put_shape(e.shape);
      t.put_shape(e.padded);
      write_memory_config(t, e.memory_config);
      t.put_string(e.memory_text);
      t.put(e.offset);
      t.put(e.size);
      t.put(e.checksum);
    }
    const std::size_t header_size = w.out.size() + t.out.size();
    if (pass == 0) {
      std::size_t offset = align_up(header_size);
      for (EntryRecord& e : h.entries) {
        e.offset = offset;
        offset = align_up(offset + e.size);
      }
      h.file_size = h.entries.empty() ? header_size : h.entries.back().offset + h.entries.back().size;
      continue;
    }
    w.out.insert(w.out.end(), t.out.begin(), t.out.end());
    h.header_size = static_cast<uint32_t>(header_size);
  }
  h.version = kCacheFormatVersion;

  std::byte* p = w.out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  auto put_at = [&](std::size_t at, auto v) { std::memcpy(p + at, &v, sizeof(v)); };
  put_at(8, h.version);
  put_at(12, h.header_size);
  put_at(16, h.key_hash);
  put_at(32, h.file_size);
  put_at(40, static_cast<uint32_t>(h.entries.size()));
  put_at(24, header_checksum(p, h.header_size));
  w.out.resize(h.entries.empty() ? w.out.size() : h.entries.front().offset);
  return std::move(w.out);
}

HeaderRecord decode_header(const std::byte* data, std::size_t size) {
  if (size < kFixedHeaderBytes)
    corrupt(fmt::format("truncated: {} bytes, shorter than the {}-byte fixed header", size, kFixedHeaderBytes));
  if (std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    corrupt(fmt::format("bad magic '{}': not a ttt weight cache file",
                        std::string_view(reinterpret_cast<const char*>(data), sizeof(kMagic))));
  }
  HeaderRecord h;
  auto get_at = [&](std::size_t at, auto& v) { std::memcpy(&v, data + at, sizeof(v)); };
  get_at(8, h.version);
  get_at(12, h.header_size);
  get_at(16, h.key_hash);
  uint64_t stored_checksum = 0;
  get_at(24, stored_checksum);
  get_at(32, h.file_size);
  uint32_t count = 0;
  get_at(40, count);
  if (h.version != kCacheFormatVersion)
    corrupt(fmt::format("format version {}; this build reads version {}", h.version, kCacheFormatVersion));
  if (h.header_size < kFixedHeaderBytes || h.header_size > size) {
    corrupt(fmt::format("header size {} lies outside the file ({} bytes): truncated or damaged header", h.header_size,
                        size));
  }
  const uint64_t computed = header_checksum(data, h.header_size);
  if (computed != stored_checksum) {
    corrupt(fmt::format("header checksum mismatch (stored {:016x}, computed {:016x}): the header or table is damaged",
                        stored_checksum, computed));
  }
  if (h.file_size != size) {
    corrupt(fmt::format("the file is {} bytes but was written as {} bytes: truncated or extended", size, h.file_size));
  }

  Reader r(data, kFixedHeaderBytes, h.header_size);
  h.key_name = r.get_string("the key name");
  h.key_text = r.get_string("the key text");
  uint64_t payload_floor = align_up(h.header_size);
  for (uint32_t i = 0; i < count; ++i) {
    EntryRecord e;
    const std::string what = fmt::format("entry {}", i);
    e.name = r.get_string(what + " name");
    e.key_hash = r.get<uint64_t>(what + " key hash");
    e.dtype = get_enum<DataType>(r, what + " dtype");
    e.layout = get_enum<Layout>(r, what + " layout");
    const auto rank = r.get<uint8_t>(what + " rank");
    const auto padded_rank = r.get<uint8_t>(what + " padded rank");
    if (rank > Shape::kMaxRank || padded_rank > Shape::kMaxRank)
      corrupt(fmt::format("{} ('{}') has rank {} / padded rank {}; at most {}", what, e.name, rank, padded_rank,
                          Shape::kMaxRank));
    e.shape = r.get_shape(rank, what + " shape");
    e.padded = r.get_shape(padded_rank, what + " padded shape");
    e.memory_config = read_memory_config(r, what);
    e.memory_text = r.get_string(what + " memory config text");
    e.offset = r.get<uint64_t>(what + " offset");
    e.size = r.get<uint64_t>(what + " size");
    e.checksum = r.get<uint64_t>(what + " checksum");

    const std::string who = fmt::format("tensor '{}'", e.name);
    if (e.key_hash != h.key_hash)
      corrupt(fmt::format("{} carries key hash {:016x}, the file {:016x}", who, e.key_hash, h.key_hash));
    if (is_block_float(e.dtype) && e.layout != Layout::TILE)
      corrupt(fmt::format("{} is {} in {} layout; block floats exist only in TILE", who, to_string(e.dtype),
                          to_string(e.layout)));
    if (!(e.padded == padded_shape(e.shape, e.layout)))
      corrupt(fmt::format("{} has padded shape {}; shape {} in {} pads to {}", who, e.padded.str(), e.shape.str(),
                          to_string(e.layout), padded_shape(e.shape, e.layout).str()));
    const auto expect = static_cast<uint64_t>(storage_bytes(e.shape, e.dtype, e.layout));
    if (e.size != expect)
      corrupt(fmt::format("{} claims {} bytes; {} {} {} takes {}", who, e.size, e.shape.str(), to_string(e.dtype),
                          to_string(e.layout), expect));
    if (e.offset % kPayloadAlignment != 0)
      corrupt(fmt::format("{} starts at offset {}, not a multiple of {}", who, e.offset, kPayloadAlignment));
    if (e.offset < payload_floor)
      corrupt(fmt::format("{} starts at offset {}, inside the header or the previous payload (first free byte {})", who,
                          e.offset, payload_floor));
    if (e.offset > size || e.size > size - e.offset)
      corrupt(fmt::format("{} spans bytes [{}, {}) but the file has {}: truncated", who, e.offset, e.offset + e.size,
                          size));
    payload_floor = e.offset + e.size;
    h.entries.push_back(std::move(e));
  }
  if (r.pos() != h.header_size)
    corrupt(fmt::format("the table ends at byte {} but the header size says {}", r.pos(), h.header_size));
  return h;
}

void verify_payloads(const HeaderRecord& h, const std::byte* data) {
  for (const EntryRecord& e : h.entries) {
    const uint64_t sum = hash_bytes(data + e.offset, e.size);
    if (sum != e.checksum)
      corrupt(fmt::format("payload checksum mismatch in tensor '{}' (bytes [{}, {}): stored {:016x}, computed {:016x})",
                          e.name, e.offset, e.offset + e.size, e.checksum, sum));
  }
}

void check_identity(const HeaderRecord& h, const std::filesystem::path& file) {
  const uint64_t text_hash = hash_bytes(h.key_text.data(), h.key_text.size());
  if (text_hash != h.key_hash)
    corrupt(fmt::format("the stored key hashes to {:016x}, not to the stored key hash {:016x}", text_hash, h.key_hash));
  const std::string expect = file_name(h.key_name, h.key_hash);
  if (file.filename() != expect)
    corrupt(
        fmt::format("it holds tensor '{}' (key {:016x}), which belongs in '{}': a file renamed or copied into place",
                    h.key_name, h.key_hash, expect));
}

std::string file_name(std::string_view tensor, uint64_t key_hash) {
  // Keep names readable and safe on any filesystem; the key hash disambiguates names
  // that sanitize alike, and the stored key name is checked on load.
  constexpr std::size_t kMaxNameBytes = 160;
  std::string out;
  for (char c : tensor.substr(0, kMaxNameBytes)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return fmt::format("{}.{:016x}{}", out, key_hash, kCacheFileExtension);
}

std::string namespace_dir(std::string_view ns) {
  if (ns.empty()) return "default";
  TTT_CHECK(
      ns != "." && ns != ".." && ns.find('/') == std::string_view::npos && ns.find('\0') == std::string_view::npos,
      InvalidConfig,
      "cache namespace '{}' must be one plain directory name (no '/', not '.' or '..'); model_cache_namespace() "
      "makes one from a model directory",
      ns);
  return std::string(ns);
}

bool is_temp_file(const std::filesystem::path& p) {
  return p.filename().string().find(std::string(kCacheFileExtension) + ".tmp.") != std::string::npos;
}

bool is_cache_file(const std::filesystem::path& p) { return p.extension() == kCacheFileExtension && !is_temp_file(p); }

CacheFileStorage::CacheFileStorage(int fd, std::size_t size, std::filesystem::path path)
    : size_(size), path_(std::move(path)) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    fail(ErrorKind::Io, "cannot map cache file '{}' ({} bytes): {}", path_.string(), size, std::strerror(errno));
  data_ = static_cast<std::byte*>(p);
}

CacheFileStorage::~CacheFileStorage() {
  if (data_) ::munmap(data_, size_);
}

namespace {

struct Registry {
  std::mutex mutex;
  std::map<FileId, std::weak_ptr<CacheFileStorage>> files;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::shared_ptr<CacheFileStorage> find_verified(const FileId& id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.files.find(id);
  if (it == r.files.end()) return nullptr;
  auto s = it->second.lock();
  if (!s) r.files.erase(it);
  return s;
}

void remember_verified(const FileId& id, const std::shared_ptr<CacheFileStorage>& s) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.files, [](const auto& kv) { return kv.second.expired(); });
  r.files[id] = s;
}

FileId file_id_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(ErrorKind::Io, "fstat failed: {}", std::strerror(errno));
  return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::shared_ptr<CacheFileStorage> map_and_check(int fd, std::size_t size, const std::filesystem::path& file,
                                                bool payloads) {
  // Too short to hold a header: report it without mapping (a 0-byte map fails).
  if (size < kFixedHeaderBytes) (void)decode_header(nullptr, size);
  auto s = std::make_shared<CacheFileStorage>(fd, size, file);
  s->header = decode_header(s->cdata(), size);
  check_identity(s->header, file);
  if (payloads) {
    verify_payloads(s->header, s->cdata());
    s->payloads_checked = true;
  }
  return s;
}

std::shared_ptr<CacheFileStorage> open_verified(const std::filesystem::path& file, bool payloads) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot open cache file '{}': {}", file.string(), std::strerror(errno));
  try {
    auto s = map_and_check(fd, file_id_of(fd).size, file, payloads);
    ::close(fd);
    return s;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace ttt::cache
