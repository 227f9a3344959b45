// Reading the JSON files of a model directory with errors that name the file and the
// field: config.json, tokenizer.json, safetensors headers, index files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ttt::model_detail {

using Json = nlohmann::json;

// The whole file; ModelFormat naming `file` when it is missing or unreadable.
std::string read_file(const std::filesystem::path& file);

// ModelFormat "<file>: malformed JSON: ... at line L, column C: ..." on a parse error.
Json parse_json(std::string_view text, const std::filesystem::path& file);
Json read_json_file(const std::filesystem::path& file);

// "string \"64\"", "number 1.5", "null": the JSON type and a short rendering, for messages.
std::string describe(const Json& value);

// Field access on an object; `where` prefixes nested field names ("rope_scaling.").
class JsonObject {
 public:
  JsonObject(const Json& object, const std::filesystem::path& file, std::string where = "");

  bool has(std::string_view key) const;                 // present and not null
  const Json* find(std::string_view key) const;         // nullptr when absent or null
  const Json& require(std::string_view key) const;      // ModelFormat "missing field"

  int64_t get_int(std::string_view key) const;
  std::optional<int64_t> opt_int(std::string_view key) const;
  double get_number(std::string_view key) const;
  std::optional<double> opt_number(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;

  // ModelFormat "<file>: field '<where><key>' must be <expected>, found <describe(value)>".
  [[noreturn]] void wrong_type(std::string_view key, const Json& value, std::string_view expected) const;
  std::string field(std::string_view key) const { return where_ + std::string(key); }
  const std::filesystem::path& file() const { return file_; }

 private:
  const Json& obj_;
  std::filesystem::path file_;
  std::string where_;
};

}  // namespace ttt::model_detail
