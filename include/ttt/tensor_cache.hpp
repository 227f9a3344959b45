// The on-disk weight cache (the seed's TensorCacheConfig and TensorCacheManager).
//
// A weight is converted once into the format its op config asks for (dtype, layout,
// padding, fusing, transposes, per-chip pieces) and written to a cache file; later runs
// memory-map the file and use its bytes in place, converting and copying nothing.
//
// Every file is addressed by a WeightKey that covers everything that changes the stored
// bytes: the tensor name, a fingerprint of the source weights, the transform, dtype,
// layout, logical and padded shape, memory config, how the weight is cut into per-chip
// pieces, the device architecture and the cache format version. A file whose header,
// checksums or stored key do not match is never used: it is reported (CacheCorrupt),
// deleted and rebuilt. docs/tensor_cache.md describes the format and the rules.
//
// Layout on disk: <cache root>/<namespace>/<tensor name>.<key hash, 16 hex>.tttc, one
// file per logical weight holding all of its pieces. The namespace is one per model
// (model_cache_namespace), so a model's part of the cache can be listed or cleared alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/device.hpp"
#include "ttt/dtype.hpp"
#include "ttt/error.hpp"
#include "ttt/fields.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/memory_config.hpp"
#include "ttt/shape.hpp"
#include "ttt/tensor.hpp"

namespace ttt {

class ActivationArena;

// Bumped whenever the file layout or the meaning of a key field changes: it is part of
// every key, so files of another version are never looked up, and are rejected if
// renamed into place.
inline constexpr uint32_t kCacheFormatVersion = 1;
inline constexpr std::string_view kCacheFileExtension = ".tttc";

struct TensorCacheConfig {
  bool cache_weights = true;      // false: convert on every call, touch no files
  bool cache_activations = true;  // false: every activation is allocated per call
  // Defaults the model code puts into keys when an op config names no format; the
  // manager itself always takes dtype and layout from each WeightKey.
  DataType weight_cache_dtype = DataType::BFLOAT16;
  DataType activation_cache_dtype = DataType::BFLOAT16;
  Layout cache_layout = Layout::TILE;
  std::optional<std::string> shard_strategy;  // "column" / "row" / unset, for the model code
  // Root of the cache; unset: $XDG_CACHE_HOME/ttt, else ~/.cache/ttt (resolve_cache_dir).
  std::optional<std::string> cache_dir;
  // Subdirectory of the root that holds this model's files (model_cache_namespace);
  // empty: "default".
  std::string cache_namespace;
  // Checksum every payload the first time a file is used in this process. Off, only the
  // header, the table and the key are checked on load.
  bool verify_payloads = true;

  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("cache_weights", s.cache_weights);
    v("cache_activations", s.cache_activations);
    v("weight_cache_dtype", s.weight_cache_dtype);
    v("activation_cache_dtype", s.activation_cache_dtype);
    v("cache_layout", s.cache_layout);
    v("shard_strategy", s.shard_strategy);
    v("cache_dir", s.cache_dir);
    v("cache_namespace", s.cache_namespace);
    v("verify_payloads", s.verify_payloads);
  }
};

// The environment values the default cache directory depends on. Read once, at the API
// edge (CacheEnv::from_process()), and passed down; nothing below reads the environment.
struct CacheEnv {
  std::optional<std::string> xdg_cache_home;
  std::optional<std::string> home;
  static CacheEnv from_process();
};

// The cache root: `configured` when given (a leading "~/" expands to env.home), else
// $XDG_CACHE_HOME/ttt when that is an absolute path, else $HOME/.cache/ttt.
// InvalidConfig when none of them is available.
std::filesystem::path resolve_cache_dir(const std::optional<std::string>& configured, const CacheEnv& env);

// The namespace of a model directory: "<directory name>-<16 hex>", the hex an xxHash of
// its absolute path and of its config.json bytes (absent: the path alone).
std::string model_cache_namespace(const std::filesystem::path& model_dir);

// Source fingerprints for WeightKey::source.
// Exact: an xxHash of the bytes themselves ("xxh3:<16 hex>:<size>").
std::string fingerprint_bytes(const void* data, std::size_t size);
// Cheap: the identity of the file region the weight is read from (absolute path, file
// size, mtime in ns, device and inode, byte offset and size); any rewrite, copy or
// touch of the file changes it. Io error when the file cannot be stat'ed.
std::string fingerprint_file(const std::filesystem::path& file, uint64_t offset, uint64_t size);

// Everything that changes the bytes of one cached weight.
struct WeightKey {
  std::string name;       // "layers.3.attention.qkv_matmul.weight"
  std::string source;     // fingerprint_bytes / fingerprint_file (several joined for fused weights)
  std::string transform;  // "transpose|fuse:q,k,v|pad", empty for none
  DataType dtype = DataType::BFLOAT16;
  Layout layout = Layout::TILE;
  Shape shape;         // logical shape of the whole weight
  Shape padded_shape;  // as stored; rank 0: padded_shape(shape, layout)
  MemoryConfig memory_config;
  int pieces = 1;     // tensors in the file: 1 (one chip, or replicated) or one per chip
  int split_dim = 0;  // the dim cut into `pieces` when pieces > 1
  Arch arch = Arch::CPU;
  uint32_t format_version = kCacheFormatVersion;

  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("name", s.name);
    v("source", s.source);
    v("transform", s.transform);
    v("dtype", s.dtype);
    v("layout", s.layout);
    v("shape", s.shape);
    v("padded_shape", s.padded_shape);
    v("memory_config", s.memory_config);
    v("pieces", s.pieces);
    v("split_dim", s.split_dim);
    v("arch", s.arch);
    v("format_version", s.format_version);
  }

  // The key with padded_shape filled in: what text() and hash() describe.
  WeightKey normalized() const;
  // Canonical text, one "field=value" line per field, in visit_fields order. This is the
  // printable form: Shape is not a field type of fields.hpp, so field_str(key) is not.
  std::string text() const;
  // xxHash64 (XXH3) of text(): names the file and is stored in it.
  uint64_t hash() const;
};

// A key for a weight stored as `stored` (dtype, layout, shape, memory config) on `device`.
WeightKey make_weight_key(const TensorSpec& stored, std::string source, std::string transform,
                          const DeviceSpec& device);

struct TensorCacheStats {
  int64_t hits = 0;     // weights served from a cache file
  int64_t misses = 0;   // weights converted
  int64_t rebuilt = 0;  // files found corrupt, deleted and rebuilt
  // Conversions not written (served from memory); a manager stops writing after the
  // first failure.
  int64_t write_failures = 0;
  int64_t bytes_converted = 0;    // stored bytes produced by conversions
  int64_t bytes_mapped = 0;       // stored bytes served from mapped files
  double seconds_converting = 0;  // inside the convert callbacks
  double seconds_writing = 0;     // writing, syncing and renaming files
};

// One step of building or loading, sent to the progress callback after every weight.
struct CacheProgress {
  std::string_view tensor;  // the weight just done (valid during the call only)
  bool hit = false;         // served from the cache
  bool finished = false;    // sent once by TensorCacheManager::finish()
  int64_t tensors_done = 0;
  int64_t tensors_expected = 0;  // from expect(); 0 when unknown
  int64_t bytes_done = 0;        // stored bytes, hits and misses together
  int64_t bytes_expected = 0;    // from expect(); 0 when unknown
  int64_t tensors_built = 0;     // misses so far
  int64_t bytes_built = 0;
  double seconds_building = 0;  // converting and writing so far
};
using CacheProgressFn = std::function<void(const CacheProgress&)>;

// A progress bar on stderr while weights are being built (converted and written), with
// the build rate in MB/s; it stays silent while everything comes from the cache, and
// prints one summary line at finish() if anything was built. Disabled: an empty function.
CacheProgressFn stderr_progress_bar(bool enabled = true);

// How a corrupt or unusable cache file is reported: an Error of kind CacheCorrupt (or Io
// for a file that cannot be read or written) whose message names the file and the fault.
using CacheReportFn = std::function<void(const Error&)>;
// The default: one "ttt: warning: ..." line on stderr.
void log_cache_report(const Error& e);

class TensorCacheManager {
 public:
  // `env` is read at this edge only when config.cache_dir is unset.
  TensorCacheManager(std::shared_ptr<Device> device, TensorCacheConfig config,
                     const CacheEnv& env = CacheEnv::from_process());
  ~TensorCacheManager();
  TensorCacheManager(const TensorCacheManager&) = delete;
  TensorCacheManager& operator=(const TensorCacheManager&) = delete;

  // The cached weight for `key`: mapped from its file when a sound one exists, else made
  // by `convert` (which must return a tensor of key.dtype, key.layout and key.shape),
  // written atomically and mapped. The tensor is named key.name and carries
  // key.memory_config. Safe to call from several threads.
  Tensor cache_weight(const WeightKey& key, const std::function<Tensor()>& convert);
  // The same for a weight cut into key.pieces per-chip tensors (named "<name>/piece<i>"),
  // stored together in one file. `convert` returns exactly key.pieces tensors.
  std::vector<Tensor> cache_weight_pieces(const WeightKey& key, const std::function<std::vector<Tensor>()>& convert);

  // The activation arena of one module, made on first use with `policy` (never when the
  // config disables activation caching). Arenas live as long as the manager.
  ActivationArena& activations(std::string_view module, CachePolicy policy = CachePolicy::auto_);

  // What the progress callback should count toward (resets the progress counts).
  void expect(int64_t tensors, int64_t bytes);
  // Sends the final progress event.
  void finish();
  void set_progress(CacheProgressFn fn);
  // Replaces log_cache_report.
  void set_reporter(CacheReportFn fn);

  TensorCacheStats stats() const;
  const TensorCacheConfig& config() const { return config_; }
  Device& device() const { return *device_; }
  // <cache root>/<namespace>: where this manager's files live.
  const std::filesystem::path& directory() const { return dir_; }
  // The file a key is stored in.
  std::filesystem::path file_for(const WeightKey& key) const;

 private:
  std::vector<Tensor> lookup(const WeightKey& key, const std::filesystem::path& file);
  std::vector<Tensor> build(const WeightKey& key, const std::filesystem::path& file,
                            const std::function<std::vector<Tensor>()>& convert);
  void report(const Error& e);
  void progress(std::string_view tensor, bool hit, int64_t bytes);

  std::shared_ptr<Device> device_;
  TensorCacheConfig config_;
  std::filesystem::path dir_;
  std::mutex progress_mutex_;  // one progress callback at a time, outside mutex_
  mutable std::mutex mutex_;   // guards everything below
  TensorCacheStats stats_;
  CacheProgressFn progress_;
  CacheReportFn reporter_;
  int64_t tensors_done_ = 0, tensors_expected_ = 0, bytes_done_ = 0, bytes_expected_ = 0;
  int64_t tensors_built_ = 0, bytes_built_ = 0;
  double seconds_building_ = 0;
  bool writes_failed_ = false;  // after one failed write, stop trying (and reporting)
  std::map<std::string, std::unique_ptr<ActivationArena>, std::less<>> arenas_;
};

// --- Administration (`ttt cache ls | verify | clear`) ----------------------------------

struct CacheFileInfo {
  std::filesystem::path file;
  std::string model;   // the namespace directory it sits in
  std::string tensor;  // the key's name (empty when the header cannot be read)
  int pieces = 0;
  DataType dtype = DataType::FLOAT32;
  Layout layout = Layout::ROW_MAJOR;
  Shape shape;  // of the first piece
  int64_t file_bytes = 0;
  bool temp = false;    // a build in progress, or left by a crashed one
  std::string problem;  // empty when the header reads cleanly (ls checks headers only)
};

// Files under `root` (one namespace when `ns` is given), sorted by model then file.
std::vector<CacheFileInfo> list_cache(const std::filesystem::path& root, const std::optional<std::string>& ns);

// The full check of one cache file: magic, version, header and table bounds, header
// checksum, stored key against the file name, payload checksums. Empty when sound,
// else what is wrong.
std::string verify_cache_file(const std::filesystem::path& file);

struct ClearResult {
  int64_t files = 0;
  int64_t bytes = 0;
};
// Removes cache files (and temp files) under `root`, or one namespace; then the
// namespace directories left empty. Files the cache did not write are left alone.
ClearResult clear_cache(const std::filesystem::path& root, const std::optional<std::string>& ns);

}  // namespace ttt
