// The weight cache file format (version kCacheFormatVersion), little-endian:
//
//   fixed header, 64 bytes
//     0  char[8]  magic "TTTCACHE"
//     8  u32      format version
//    12  u32      header size: bytes from 0 to the end of the table
//    16  u64      key hash (WeightKey::hash)
//    24  u64      header checksum: XXH3 over bytes [0, 24) and [32, header size)
//    32  u64      file size the writer produced
//    40  u32      tensor count
//    44  u32      reserved, 0
//    48  u8[16]   reserved, 0
//   key name (u32 length + bytes), key text (u32 length + bytes)
//   table, one entry per tensor:
//     name (u32 + bytes), u64 key hash, u8 dtype, u8 layout, u8 rank, u8 padded rank,
//     i64 dims[rank], i64 padded[padded rank],
//     memory config: u8 memory layout, u8 buffer type, u8 has shard, u8 orientation,
//                    i32 grid x, i32 grid y, i64 shard height, i64 shard width,
//     memory config text (u32 + bytes), u64 offset, u64 size, u64 XXH3 of the payload
//   payloads, each at a 64-byte-aligned offset, in table order, zero padding between.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/dtype.hpp"
#include "ttt/memory_config.hpp"
#include "ttt/shape.hpp"
#include "ttt/tensor.hpp"

namespace ttt::cache {

inline constexpr char kMagic[8] = {'T', 'T', 'T', 'C', 'A', 'C', 'H', 'E'};
inline constexpr std::size_t kFixedHeaderBytes = 64;
inline constexpr std::size_t kPayloadAlignment = 64;

struct EntryRecord {
  std::string name;
  uint64_t key_hash = 0;
  DataType dtype = DataType::FLOAT32;
  Layout layout = Layout::ROW_MAJOR;
  Shape shape;
  Shape padded;
  MemoryConfig memory_config;
  std::string memory_text;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t checksum = 0;
};

struct HeaderRecord {
  uint32_t version = 0;
  uint32_t header_size = 0;
  uint64_t key_hash = 0;
  uint64_t file_size = 0;
  std::string key_name;
  std::string key_text;
  std::vector<EntryRecord> entries;
};

// Lays the entries out (offsets after the header, 64-byte aligned; sizes and checksums
// must be filled in), sets header_size and file_size, and returns the header bytes,
// checksum included, padded to the first payload offset.
std::vector<std::byte> encode_header(HeaderRecord& h);

// Parses and checks a whole file image of `size` bytes: magic, version, header size,
// header checksum, table bounds, every entry's format, shape, size and placement.
// Payloads are not read. Throws Error(CacheCorrupt) saying what is wrong.
HeaderRecord decode_header(const std::byte* data, std::size_t size);

// Checks every payload against its stored checksum (CacheCorrupt naming the tensor).
void verify_payloads(const HeaderRecord& h, const std::byte* data);

// The stored key text hashes to the stored key hash, and the file name carries both the
// tensor name and the hash (CacheCorrupt otherwise): catches files renamed into place.
void check_identity(const HeaderRecord& h, const std::filesystem::path& file);

// "<sanitized name>.<16 hex>.tttc".
std::string file_name(std::string_view tensor, uint64_t key_hash);
// Whether a directory entry is a cache file, or a temp file of one being written.
bool is_cache_file(const std::filesystem::path& p);
bool is_temp_file(const std::filesystem::path& p);

// The directory name of a namespace: `ns`, or "default" when empty. InvalidConfig when
// it is not one plain path component.
std::string namespace_dir(std::string_view ns);

// Identity of a file as a process sees it; a rewritten or replaced file differs.
struct FileId {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
  auto operator<=>(const FileId&) const = default;
};

// A cache file mapped read-only; tensors over it keep the mapping alive.
class CacheFileStorage final : public Storage {
 public:
  // Maps `size` bytes of the open descriptor `fd` (the caller keeps ownership of fd).
  CacheFileStorage(int fd, std::size_t size, std::filesystem::path path);
  ~CacheFileStorage() override;
  CacheFileStorage(const CacheFileStorage&) = delete;
  CacheFileStorage& operator=(const CacheFileStorage&) = delete;

  // Pages are mapped PROT_READ: writing through data() faults, by design.
  std::byte* data() override { return data_; }
  const std::byte* cdata() const { return data_; }
  std::size_t size() const override { return size_; }
  const std::filesystem::path& path() const { return path_; }

  HeaderRecord header;  // set once verified, before the storage is shared
  // Whether the payload checksums have been checked (a file first opened with
  // verify_payloads off is checked again by a manager that wants them).
  std::atomic<bool> payloads_checked{false};

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::filesystem::path path_;
};

// Process-wide table of verified mappings, so a file is checked the first time it is
// used in the process and shared afterwards (by every manager).
std::shared_ptr<CacheFileStorage> find_verified(const FileId& id);
void remember_verified(const FileId& id, const std::shared_ptr<CacheFileStorage>& s);

FileId file_id_of(int fd);

// Maps `size` bytes of `fd` and checks them as `file` (decode_header, check_identity,
// optionally verify_payloads). Throws CacheCorrupt (Io when it cannot be mapped).
std::shared_ptr<CacheFileStorage> map_and_check(int fd, std::size_t size, const std::filesystem::path& file,
                                                bool payloads);

// Opens, maps and fully checks a file (decode_header, check_identity, optionally
// verify_payloads). Throws CacheCorrupt (or Io when it cannot be opened or mapped).
std::shared_ptr<CacheFileStorage> open_verified(const std::filesystem::path& file, bool payloads);

}  // namespace ttt::cache
