#include "tune/tune_cache.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>

#include "ttt/error.hpp"
#include "ttt/fields.hpp"

namespace ttt::tune_detail {
namespace fs = std::filesystem;
namespace {

constexpr int kFormatVersion = 1;

nlohmann::json read_entries(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nlohmann::json::object();
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.is_object() && j.value("format", 0) == kFormatVersion && j.contains("entries") && j["entries"].is_object())
      return j["entries"];
  } catch (const nlohmann::json::exception&) {
  }
  // Unreadable or of another format: set aside, start afresh.
  std::error_code ec;
  fs::rename(file, fs::path(file.string() + ".bad"), ec);
  return nlohmann::json::object();
}

}  // namespace

TuneCache::TuneCache(fs::path file) : file_(std::move(file)) {
  if (!file_.empty()) entries_ = read_entries(file_);
}

std::optional<nlohmann::json> TuneCache::get(const std::string& key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return *it;
}

void TuneCache::put(const std::string& key, nlohmann::json value) {
  entries_[key] = std::move(value);
  if (file_.empty()) return;
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  TTT_CHECK(!ec, Io, "tune cache: cannot create '{}': {}; set --cache-dir to a writable directory",
            file_.parent_path().string(), ec.message());
  nlohmann::json merged = read_entries(file_);
  for (const auto& [k, v] : entries_.items()) merged[k] = v;
  entries_ = merged;
  const fs::path tmp = fs::path(fmt::format("{}.{}.tmp", file_.string(), ::getpid()));
  {
    std::ofstream out(tmp);
    TTT_CHECK(out.good(), Io, "tune cache: cannot write '{}'; set --cache-dir to a writable directory", tmp.string());
    out << nlohmann::json{{"format", kFormatVersion}, {"entries", entries_}}.dump(1) << "\n";
    TTT_CHECK(out.good(), Io, "tune cache: writing '{}' failed", tmp.string());
  }
  fs::rename(tmp, file_, ec);
  TTT_CHECK(!ec, Io, "tune cache: cannot replace '{}': {}", file_.string(), ec.message());
}

std::string key_of(const std::string& text) { return fmt::format("{:016x}", hash_bytes(text.data(), text.size())); }

const std::string& executable_hash() {
  static const std::string hash = [] {
    std::ifstream in("/proc/self/exe", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    return fmt::format("{:016x}:{}", hash_bytes(bytes.data(), bytes.size()), bytes.size());
  }();
  return hash;
}

}  // namespace ttt::tune_detail
