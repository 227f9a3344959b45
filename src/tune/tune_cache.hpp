// The tuner's results cache: measured times and accuracy checks, keyed by a hash of
// everything they depend on (see tune.cpp), in one JSON file under the user's cache
// root (<root>/tune/results.json). A file that does not parse is set aside and rebuilt.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ttt::tune_detail {

class TuneCache {
 public:
  // file empty: a cache that remembers nothing (and writes nothing).
  explicit TuneCache(std::filesystem::path file);
  std::optional<nlohmann::json> get(const std::string& key) const;
  // Records the entry and writes the file (merged with what another run wrote meanwhile).
  void put(const std::string& key, nlohmann::json value);
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  nlohmann::json entries_ = nlohmann::json::object();
};

// "<16 hex>" of the text: a cache key.
std::string key_of(const std::string& text);

// A hash of the running executable: cached results of other builds of the kernels are
// never used.
const std::string& executable_hash();

}  // namespace ttt::tune_detail
