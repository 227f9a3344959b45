// The functions behind `ttt cache ls | verify | clear`. They only ever touch files the
// cache writes (*.tttc and their temp files) inside namespace directories of the root,
// so a cache root pointed at a directory holding other files is safe to clear.
#include <algorithm>
#include <system_error>

#include "cache/cache_file.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt {

namespace fs = std::filesystem;

namespace {

// Namespace directories under `root` (one when `ns` is given), sorted.
std::vector<fs::path> namespace_dirs(const fs::path& root, const std::optional<std::string>& ns) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (ns) {
    const fs::path d = root / cache::namespace_dir(*ns);
    if (fs::is_directory(d, ec)) out.push_back(d);
    return out;
  }
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::error_code dec;
    if (e.is_directory(dec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> cache_files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code fec;
    if (!e.is_regular_file(fec)) continue;
    if (cache::is_cache_file(e.path()) || cache::is_temp_file(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<CacheFileInfo> list_cache(const fs::path& root, const std::optional<std::string>& ns) {
  std::vector<CacheFileInfo> out;
  for (const fs::path& dir : namespace_dirs(root, ns)) {
    for (const fs::path& file : cache_files_in(dir)) {
      CacheFileInfo info;
      info.file = file;
      info.model = dir.filename().string();
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      info.file_bytes = ec ? 0 : static_cast<int64_t>(size);
      info.temp = cache::is_temp_file(file);
      if (!info.temp) {
        try {
          // Headers only: listing a large cache must not read every payload.
          const auto s = cache::open_verified(file, /*payloads=*/false);
          const cache::HeaderRecord& h = s->header;
          info.tensor = h.key_name;
          info.pieces = static_cast<int>(h.entries.size());
          if (!h.entries.empty()) {
            info.dtype = h.entries.front().dtype;
            info.layout = h.entries.front().layout;
            info.shape = h.entries.front().shape;
          }
        } catch (const Error& e) {
          info.problem = e.detail();
        }
      }
      out.push_back(std::move(info));
    }
  }
  return out;
}

std::string verify_cache_file(const fs::path& file) {
  try {
    (void)cache::open_verified(file, /*payloads=*/true);
    return {};
  } catch (const Error& e) {
    return e.detail();
  }
}

ClearResult clear_cache(const fs::path& root, const std::optional<std::string>& ns) {
  ClearResult r;
  for (const fs::path& dir : namespace_dirs(root, ns)) {
    for (const fs::path& file : cache_files_in(dir)) {
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      const int64_t bytes = ec ? 0 : static_cast<int64_t>(size);
      if (fs::remove(file, ec)) {
        ++r.files;
        r.bytes += bytes;
      }
    }
    std::error_code ec;
    if (fs::is_empty(dir, ec) && !ec) fs::remove(dir, ec);
  }
  return r;
}

}  // namespace ttt
