// TensorCacheManager: look a weight up by its key, convert and write it on a miss, and
// report (then delete and rebuild) any file that fails its checks.
//
// Writes are atomic: a unique temp file in the cache directory is written, fsync'ed,
// mapped, renamed over the final name and the directory fsync'ed. Two processes that
// build the same weight at once both write whole files; the last rename wins and the
// name always refers to one complete, valid file.
#include "ttt/tensor_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <type_traits>

#include "cache/cache_file.hpp"
#include "ttt/activation_arena.hpp"

namespace ttt {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string piece_name(const WeightKey& k, std::size_t i) {
  return k.pieces == 1 ? k.name : fmt::format("{}/piece{}", k.name, i);
}

// Temp files older than this are left by crashed builders, not by live ones.
constexpr auto kStaleTempAge = std::chrono::hours(1);

void sweep_stale_temps(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!cache::is_temp_file(entry.path())) continue;
    std::error_code tec;
    const auto t = fs::last_write_time(entry.path(), tec);
    if (!tec && now - t > kStaleTempAge) fs::remove(entry.path(), tec);
  }
}

void write_all(int fd, const void* data, std::size_t size, std::size_t offset, const fs::path& file) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(ErrorKind::Io, "cannot write '{}': {}", file.string(), std::strerror(n < 0 ? errno : EIO));
    p += n;
    offset += static_cast<std::size_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot open directory '{}' to sync it: {}", dir.string(), std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(ErrorKind::Io, "cannot sync directory '{}': {}", dir.string(), std::strerror(err));
}

fs::path unique_temp_path(const fs::path& file) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fs::path(
      fmt::format("{}.tmp.{}.{}.{:08x}", file.string(), ::getpid(), counter++, static_cast<uint32_t>(rng())));
}

// Writes `h` (offsets not yet laid out) and the pieces to `file` atomically and returns
// a mapping of what was written, already known to be sound.
std::shared_ptr<cache::CacheFileStorage> write_cache_file(cache::HeaderRecord& h, const std::vector<Tensor>& pieces,
                                                          const fs::path& file) {
  const std::vector<std::byte> header = cache::encode_header(h);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) fail(ErrorKind::Io, "cannot create cache directory '{}': {}", file.parent_path().string(), ec.message());
  int fd = -1;
  fs::path tmp;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = unique_temp_path(file);
    fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && (errno != EEXIST || attempt > 8))
      fail(ErrorKind::Io, "cannot create '{}': {}", tmp.string(), std::strerror(errno));
  }
  try {
    write_all(fd, header.data(), header.size(), 0, tmp);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const cache::EntryRecord& e = h.entries[i];
      write_all(fd, pieces[i].raw(), e.size, e.offset, tmp);
    }
    // Holes between payloads read as zeros; make the length exact even if the last
    // payload is empty.
    if (::ftruncate(fd, static_cast<off_t>(h.file_size)) != 0)
      fail(ErrorKind::Io, "cannot size '{}': {}", tmp.string(), std::strerror(errno));
    if (::fsync(fd) != 0) fail(ErrorKind::Io, "cannot sync '{}': {}", tmp.string(), std::strerror(errno));
    // Map our own inode before the rename: whatever another builder renames over the
    // name afterwards, these bytes are the ones we wrote.
    auto storage = std::make_shared<cache::CacheFileStorage>(fd, static_cast<std::size_t>(h.file_size), file);
    storage->header = h;
    storage->payloads_checked = true;
    if (::rename(tmp.c_str(), file.c_str()) != 0)
      fail(ErrorKind::Io, "cannot rename '{}' to '{}': {}", tmp.string(), file.string(), std::strerror(errno));
    fsync_dir(file.parent_path());
    cache::remember_verified(cache::file_id_of(fd), storage);
    ::close(fd);
    return storage;
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

// The converted pieces must be what the key says, or the cache would file bytes under
// a key that does not describe them.
void check_pieces(const WeightKey& k, const std::vector<Tensor>& pieces) {
  TTT_CHECK(static_cast<int>(pieces.size()) == k.pieces, InvalidConfig,
            "weight cache: converting '{}' gave {} tensor(s); the key says pieces = {}", k.name, pieces.size(),
            k.pieces);
  int64_t split_total = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Tensor& t = pieces[i];
    TTT_CHECK(t.defined(), InvalidConfig, "weight cache: converting '{}' returned an empty tensor (piece {})", k.name,
              i);
    TTT_CHECK(t.dtype() == k.dtype && t.layout() == k.layout, InvalidConfig,
              "weight cache: converting '{}' gave {} {} (piece {}); the key says {} {}", k.name, to_string(t.dtype()),
              to_string(t.layout()), i, to_string(k.dtype), to_string(k.layout));
    if (k.pieces == 1) {
      TTT_CHECK(t.shape() == k.shape && t.spec().padded() == k.padded_shape, InvalidConfig,
                "weight cache: converting '{}' gave shape {} (padded {}); the key says {} (padded {})", k.name,
                t.shape().str(), t.spec().padded().str(), k.shape.str(), k.padded_shape.str());
      continue;
    }
    TTT_CHECK(t.shape().rank() == k.shape.rank(), InvalidConfig,
              "weight cache: piece {} of '{}' has shape {}; the key's shape {} has rank {}", i, k.name, t.shape().str(),
              k.shape.str(), k.shape.rank());
    for (int d = 0; d < k.shape.rank(); ++d) {
      if (d == k.split_dim) continue;
      TTT_CHECK(t.shape()[d] == k.shape[d], InvalidConfig,
                "weight cache: piece {} of '{}' has shape {}; dim {} should be {} as in the key's {}", i, k.name,
                t.shape().str(), d, k.shape[d], k.shape.str());
    }
    split_total += t.shape()[k.split_dim];
  }
  if (k.pieces > 1) {
    TTT_CHECK(split_total == k.shape[k.split_dim], InvalidConfig,
              "weight cache: the {} pieces of '{}' add up to {} along dim {}; the key's shape {} has {}", k.pieces,
              k.name, split_total, k.split_dim, k.shape.str(), k.shape[k.split_dim]);
  }
}

// A stored file serves a key only if it was written for exactly that key.
void check_key(const cache::HeaderRecord& h, const WeightKey& k, uint64_t key_hash, const std::string& key_text) {
  if (h.key_hash != key_hash || h.key_text != key_text || h.key_name != k.name) {
    throw Error(ErrorKind::CacheCorrupt,
                fmt::format("it holds tensor '{}' (key {:016x}), not the requested '{}' (key {:016x}): a file "
                            "renamed or copied into place",
                            h.key_name, h.key_hash, k.name, key_hash));
  }
  if (static_cast<int>(h.entries.size()) != k.pieces)
    throw Error(ErrorKind::CacheCorrupt,
                fmt::format("it holds {} tensor(s); the key says {} piece(s)", h.entries.size(), k.pieces));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Configuration, directories, fingerprints, keys
// ---------------------------------------------------------------------------------------

CacheEnv CacheEnv::from_process() {
  CacheEnv env;
  if (const char* v = std::getenv("XDG_CACHE_HOME")) env.xdg_cache_home = v;
  if (const char* v = std::getenv("HOME")) env.home = v;
  return env;
}

fs::path resolve_cache_dir(const std::optional<std::string>& configured, const CacheEnv& env) {
  const bool has_home = env.home && !env.home->empty();
  if (configured) {
    const std::string& c = *configured;
    TTT_CHECK(!c.empty(), InvalidConfig, "cache_dir is empty; give a directory or leave it unset");
    if (c == "~" || c.starts_with("~/")) {
      TTT_CHECK(has_home, InvalidConfig, "cache_dir '{}' starts with '~' but HOME is not set; give a full path", c);
      return fs::path(*env.home) / c.substr(c.size() > 1 ? 2 : 1);
    }
    return fs::path(c);
  }
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (env.xdg_cache_home && !env.xdg_cache_home->empty() && fs::path(*env.xdg_cache_home).is_absolute())
    return fs::path(*env.xdg_cache_home) / "ttt";
  TTT_CHECK(has_home, InvalidConfig,
            "no weight cache directory: set cache_dir in the config (--cache-dir), or XDG_CACHE_HOME or HOME");
  return fs::path(*env.home) / ".cache" / "ttt";
}

std::string model_cache_namespace(const fs::path& model_dir) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(model_dir), ec);
  if (ec) abs = fs::absolute(model_dir).lexically_normal();
  std::string config;
  if (std::ifstream in(abs / "config.json", std::ios::binary); in) {
    std::ostringstream ss;
    ss << in.rdbuf();
    config = ss.str();
  }
  const std::string path = abs.string();
  const uint64_t h = hash_bytes(path.data(), path.size(), hash_bytes(config.data(), config.size()));
  std::string base = abs.filename().string();
  for (char& c : base) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (base.empty() || base[0] == '.') base.insert(base.begin(), 'm');
  return fmt::format("{}-{:016x}", base, h);
}

std::string fingerprint_bytes(const void* data, std::size_t size) {
  return fmt::format("xxh3:{:016x}:{}", hash_bytes(data, size), size);
}

std::string fingerprint_file(const fs::path& file, uint64_t offset, uint64_t size) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    fail(ErrorKind::Io, "cannot fingerprint '{}': {}", file.string(), std::strerror(errno));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  TTT_CHECK(offset <= file_size && size <= file_size - offset, InvalidConfig,
            "fingerprint of '{}': bytes [{}, {}) lie outside the file ({} bytes)", file.string(), offset, offset + size,
            file_size);
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return fmt::format("file:{}:size={}:mtime_ns={}:dev={}:ino={}:offset={}:bytes={}",
                     fs::absolute(file).lexically_normal().string(), file_size, mtime_ns,
                     static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), offset, size);
}

WeightKey WeightKey::normalized() const {
  WeightKey k = *this;
  if (k.padded_shape.rank() == 0) k.padded_shape = ttt::padded_shape(k.shape, k.layout);
  return k;
}

std::string WeightKey::text() const {
  const WeightKey k = normalized();
  std::string out;
  visit_fields(k, [&](const char* name, const auto& f) {
    using U = std::remove_cvref_t<decltype(f)>;
    if constexpr (std::is_same_v<U, Shape>) {
      out += fmt::format("{}={}\n", name, f.str());
    } else {
      out += fmt::format("{}={}\n", name, field_str(f));
    }
  });
  return out;
}

uint64_t WeightKey::hash() const {
  const std::string t = text();
  return hash_bytes(t.data(), t.size());
}

WeightKey make_weight_key(const TensorSpec& stored, std::string source, std::string transform,
                          const DeviceSpec& device) {
  WeightKey k;
  k.name = stored.name;
  k.source = std::move(source);
  k.transform = std::move(transform);
  k.dtype = stored.dtype;
  k.layout = stored.layout;
  k.shape = stored.shape;
  k.padded_shape = stored.padded();
  k.memory_config = stored.memory_config;
  k.arch = device.arch;
  return k;
}

void log_cache_report(const Error& e) { fmt::print(stderr, "ttt: warning: {}\n", e.what()); }

// ---------------------------------------------------------------------------------------
// TensorCacheManager
// ---------------------------------------------------------------------------------------

TensorCacheManager::TensorCacheManager(std::shared_ptr<Device> device, TensorCacheConfig config, const CacheEnv& env)
    : device_(std::move(device)), config_(std::move(config)), reporter_(log_cache_report) {
  TTT_CHECK(device_ != nullptr, InvalidConfig, "TensorCacheManager needs a device");
  const std::string ns = cache::namespace_dir(config_.cache_namespace);
  if (config_.cache_weights) {
    dir_ = resolve_cache_dir(config_.cache_dir, env) / ns;
    sweep_stale_temps(dir_);
  }
}

TensorCacheManager::~TensorCacheManager() = default;

fs::path TensorCacheManager::file_for(const WeightKey& key) const {
  return dir_ / cache::file_name(key.name, key.hash());
}

Tensor TensorCacheManager::cache_weight(const WeightKey& key, const std::function<Tensor()>& convert) {
  TTT_CHECK(key.pieces == 1, InvalidConfig,
            "weight cache: '{}' has pieces = {}; use cache_weight_pieces for weights cut over chips", key.name,
            key.pieces);
  return cache_weight_pieces(key, [&] { return std::vector<Tensor>{convert()}; }).front();
}

std::vector<Tensor> TensorCacheManager::cache_weight_pieces(const WeightKey& key,
                                                            const std::function<std::vector<Tensor>()>& convert) {
  TTT_CHECK(!key.name.empty(), InvalidConfig, "weight cache: a WeightKey needs a name");
  TTT_CHECK(key.pieces >= 1, InvalidConfig, "weight cache: '{}' has pieces = {}; at least 1", key.name, key.pieces);
  TTT_CHECK(key.pieces == 1 || (key.split_dim >= 0 && key.split_dim < key.shape.rank()), InvalidConfig,
            "weight cache: '{}' is cut into {} pieces along dim {}, outside shape {}", key.name, key.pieces,
            key.split_dim, key.shape.str());
  TTT_CHECK(key.arch == device_->spec().arch, InvalidConfig,
            "weight cache: the key of '{}' is for {} but the device '{}' is {} (make_weight_key fills it in)", key.name,
            to_string(key.arch), device_->name(), to_string(device_->spec().arch));
  TTT_CHECK(key.format_version == kCacheFormatVersion, InvalidConfig,
            "weight cache: the key of '{}' has format_version {}; this build writes {} (leave it at its default)",
            key.name, key.format_version, kCacheFormatVersion);
  const WeightKey k = key.normalized();
  const fs::path file = config_.cache_weights ? file_for(k) : fs::path();
  if (config_.cache_weights) {
    std::vector<Tensor> hit = lookup(k, file);
    if (!hit.empty()) {
      int64_t bytes = 0;
      for (const Tensor& t : hit) bytes += t.bytes();
      {
        std::lock_guard lock(mutex_);
        ++stats_.hits;
        stats_.bytes_mapped += bytes;
      }
      progress(k.name, true, bytes);
      return hit;
    }
  }
  return build(k, file, convert);
}

std::vector<Tensor> TensorCacheManager::lookup(const WeightKey& k, const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // A missing file, or a cache directory that does not exist yet, is a plain miss.
    if (errno != ENOENT && errno != ENOTDIR)
      report(Error(ErrorKind::Io, fmt::format("cannot open cache file '{}': {}; converting '{}' instead", file.string(),
                                              std::strerror(errno), k.name)));
    return {};
  }
  cache::FileId id;
  std::shared_ptr<cache::CacheFileStorage> s;
  try {
    id = cache::file_id_of(fd);
    s = cache::find_verified(id);
    if (!s) {
      s = cache::map_and_check(fd, static_cast<std::size_t>(id.size), file, config_.verify_payloads);
      cache::remember_verified(id, s);
    } else if (config_.verify_payloads && !s->payloads_checked) {
      cache::verify_payloads(s->header, s->cdata());
      s->payloads_checked = true;
    }
    check_key(s->header, k, k.hash(), k.text());
  } catch (const Error& e) {
    ::close(fd);
    if (e.kind() != ErrorKind::CacheCorrupt) {
      report(Error(e.kind(), fmt::format("{}; converting '{}' instead", e.detail(), k.name)));
      return {};
    }
    report(Error(ErrorKind::CacheCorrupt, fmt::format("cache file '{}': {}; deleting it and rebuilding '{}'",
                                                      file.string(), e.detail(), k.name)));
    // Delete only the file examined: another builder may have renamed a sound one over it.
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == id.ino &&
        static_cast<uint64_t>(st.st_dev) == id.dev)
      ::unlink(file.c_str());
    std::lock_guard lock(mutex_);
    ++stats_.rebuilt;
    return {};
  }
  ::close(fd);
  std::vector<Tensor> out;
  out.reserve(s->header.entries.size());
  for (const cache::EntryRecord& e : s->header.entries) {
    out.emplace_back(TensorSpec{e.name, e.shape, e.dtype, e.layout, e.memory_config}, s,
                     static_cast<std::size_t>(e.offset), device_.get());
  }
  return out;
}

std::vector<Tensor> TensorCacheManager::build(const WeightKey& k, const fs::path& file,
                                              const std::function<std::vector<Tensor>()>& convert) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> pieces = convert();
  const double converting = seconds_since(t0);
  check_pieces(k, pieces);
  int64_t bytes = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    TensorSpec spec = pieces[i].spec();
    spec.name = piece_name(k, i);
    spec.memory_config = k.memory_config;
    pieces[i] = Tensor(std::move(spec), pieces[i].storage(),
                       static_cast<std::size_t>(pieces[i].raw() - pieces[i].storage()->data()), device_.get());
    bytes += pieces[i].bytes();
  }

  const auto t1 = std::chrono::steady_clock::now();
  std::vector<Tensor> out = pieces;
  bool write_failed = false;
  bool skip_write = false;
  {
    std::lock_guard lock(mutex_);
    skip_write = writes_failed_;
  }
  if (config_.cache_weights && skip_write) {
    write_failed = true;
  } else if (config_.cache_weights) {
    cache::HeaderRecord h;
    h.key_hash = k.hash();
    h.key_name = k.name;
    h.key_text = k.text();
    for (const Tensor& t : pieces) {
      const auto size = static_cast<uint64_t>(t.bytes());
      h.entries.push_back(cache::EntryRecord{.name = t.name(),
                                             .key_hash = h.key_hash,
                                             .dtype = t.dtype(),
                                             .layout = t.layout(),
                                             .shape = t.shape(),
                                             .padded = t.spec().padded(),
                                             .memory_config = t.memory_config(),
                                             .memory_text = t.memory_config().str(),
                                             .offset = 0,
                                             .size = size,
                                             .checksum = hash_bytes(t.raw(), size)});
    }
    try {
      auto s = write_cache_file(h, pieces, file);
      out.clear();
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        out.emplace_back(pieces[i].spec(), s, static_cast<std::size_t>(s->header.entries[i].offset), device_.get());
      }
    } catch (const Error& e) {
      // A cache that cannot be written must not stop the model: serve the converted
      // tensors from memory and say why the next start will convert again.
      // One report per manager: an unwritable cache directory fails for every weight.
      write_failed = true;
      bool first = false;
      {
        std::lock_guard lock(mutex_);
        first = !writes_failed_;
        writes_failed_ = true;
      }
      if (first) {
        report(Error(e.kind(), fmt::format("{}; '{}' and the weights after it are served from memory, not cached, "
                                           "and will be converted again next time",
                                           e.detail(), k.name)));
      }
    }
  }
  const double writing = seconds_since(t1);
  {
    std::lock_guard lock(mutex_);
    ++stats_.misses;
    stats_.bytes_converted += bytes;
    stats_.seconds_converting += converting;
    stats_.seconds_writing += writing;
    if (write_failed) ++stats_.write_failures;
    ++tensors_built_;
    bytes_built_ += bytes;
    seconds_building_ += converting + writing;
  }
  progress(k.name, false, bytes);
  return out;
}

void TensorCacheManager::report(const Error& e) {
  CacheReportFn fn;
  {
    std::lock_guard lock(mutex_);
    fn = reporter_;
  }
  if (fn) fn(e);
}

void TensorCacheManager::progress(std::string_view tensor, bool hit, int64_t bytes) {
  CacheProgress p;
  CacheProgressFn fn;
  {
    std::lock_guard lock(mutex_);
    ++tensors_done_;
    bytes_done_ += bytes;
    p = CacheProgress{.tensor = tensor,
                      .hit = hit,
                      .finished = false,
                      .tensors_done = tensors_done_,
                      .tensors_expected = tensors_expected_,
                      .bytes_done = bytes_done_,
                      .bytes_expected = bytes_expected_,
                      .tensors_built = tensors_built_,
                      .bytes_built = bytes_built_,
                      .seconds_building = seconds_building_};
    fn = progress_;
  }
  if (fn) {
    std::lock_guard lock(progress_mutex_);
    fn(p);
  }
}

void TensorCacheManager::expect(int64_t tensors, int64_t bytes) {
  std::lock_guard lock(mutex_);
  tensors_expected_ = tensors;
  bytes_expected_ = bytes;
  tensors_done_ = bytes_done_ = tensors_built_ = bytes_built_ = 0;
  seconds_building_ = 0;
}

void TensorCacheManager::finish() {
  CacheProgress p;
  CacheProgressFn fn;
  {
    std::lock_guard lock(mutex_);
    p = CacheProgress{.tensor = {},
                      .hit = false,
                      .finished = true,
                      .tensors_done = tensors_done_,
                      .tensors_expected = tensors_expected_,
                      .bytes_done = bytes_done_,
                      .bytes_expected = bytes_expected_,
                      .tensors_built = tensors_built_,
                      .bytes_built = bytes_built_,
                      .seconds_building = seconds_building_};
    fn = progress_;
  }
  if (fn) {
    std::lock_guard lock(progress_mutex_);
    fn(p);
  }
}

void TensorCacheManager::set_progress(CacheProgressFn fn) {
  std::lock_guard lock(mutex_);
  progress_ = std::move(fn);
}

void TensorCacheManager::set_reporter(CacheReportFn fn) {
  std::lock_guard lock(mutex_);
  reporter_ = std::move(fn);
}

TensorCacheStats TensorCacheManager::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

ActivationArena& TensorCacheManager::activations(std::string_view module, CachePolicy policy) {
  std::lock_guard lock(mutex_);
  auto it = arenas_.find(module);
  if (it == arenas_.end()) {
    const CachePolicy p = config_.cache_activations ? policy : CachePolicy::never;
    it = arenas_.emplace(std::string(module), std::make_unique<ActivationArena>(device_, p, std::string(module))).first;
  }
  return *it->second;
}

}  // namespace ttt
