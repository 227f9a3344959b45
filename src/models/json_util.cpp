#include "models/json_util.hpp"

#include <fstream>
#include <sstream>

#include "ttt/error.hpp"

namespace ttt::model_detail {

std::string read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    fail(ErrorKind::ModelFormat, "{}: file not found", file.string());
  }
  std::ifstream in(file, std::ios::binary);
  TTT_CHECK(in.good(), ModelFormat, "{}: cannot open the file for reading", file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  TTT_CHECK(!in.bad(), ModelFormat, "{}: read error", file.string());
  return std::move(ss).str();
}

Json parse_json(std::string_view text, const std::filesystem::path& file) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message carries "at line L, column C"; keep it whole.
    fail(ErrorKind::ModelFormat, "{}: malformed JSON: {}", file.string(), e.what());
  }
}

Json read_json_file(const std::filesystem::path& file) { return parse_json(read_file(file), file); }

std::string describe(const Json& value) {
  std::string dump = value.dump();
  if (dump.size() > 40) dump = dump.substr(0, 37) + "...";
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean " + dump;
    case Json::value_t::string: return "string " + dump;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer " + dump;
    case Json::value_t::number_float: return "number " + dump;
    case Json::value_t::array: return "array " + dump;
    case Json::value_t::object: return "object " + dump;
    default: return dump;
  }
}

JsonObject::JsonObject(const Json& object, const std::filesystem::path& file, std::string where)
    : obj_(object), file_(file), where_(std::move(where)) {
  if (!obj_.is_object()) {
    fail(ErrorKind::ModelFormat, "{}: {} must be a JSON object, found {}", file_.string(),
         where_.empty() ? std::string("the top level") : "field '" + where_.substr(0, where_.size() - 1) + "'",
         describe(obj_));
  }
}

const Json* JsonObject::find(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonObject::has(std::string_view key) const { return find(key) != nullptr; }

const Json& JsonObject::require(std::string_view key) const {
  const Json* v = find(key);
  if (!v) fail(ErrorKind::ModelFormat, "{}: missing field '{}'", file_.string(), field(key));
  return *v;
}

void JsonObject::wrong_type(std::string_view key, const Json& value, std::string_view expected) const {
  fail(ErrorKind::ModelFormat, "{}: field '{}' must be {}, found {}", file_.string(), field(key), expected,
       describe(value));
}

int64_t JsonObject::get_int(std::string_view key) const {
  const Json& v = require(key);
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      wrong_type(key, v, "an integer below 2^63");
    }
    return v.get<int64_t>();
  }
  wrong_type(key, v, "an integer");
}

std::optional<int64_t> JsonObject::opt_int(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

double JsonObject::get_number(std::string_view key) const {
  const Json& v = require(key);
  if (!v.is_number()) wrong_type(key, v, "a number");
  return v.get<double>();
}

std::optional<double> JsonObject::opt_number(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_number(key);
}

std::optional<bool> JsonObject::opt_bool(std::string_view key) const {
  const Json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(key, *v, "true or false");
  return v->get<bool>();
}

std::string JsonObject::get_string(std::string_view key) const {
  const Json& v = require(key);
  if (!v.is_string()) wrong_type(key, v, "a string");
  return v.get<std::string>();
}

std::optional<std::string> JsonObject::opt_string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

}  // namespace ttt::model_detail
