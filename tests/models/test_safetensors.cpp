#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "model_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/safetensors.hpp"

namespace ttt {
namespace {

using test::error_of;

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

std::string file_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

struct Entry {
  std::string name, dtype, shape;  // shape as JSON: "[2, 3]"
  std::string data;
};

// A well-formed file: tensors packed in order.
std::string build(const std::vector<Entry>& entries, std::string_view metadata = "") {
  std::string header = "{";
  std::string data;
  if (!metadata.empty()) header += "\"__metadata__\": " + std::string(metadata) + ", ";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    header += fmt::format("{}\"{}\": {{\"dtype\": \"{}\", \"shape\": {}, \"data_offsets\": [{}, {}]}}",
                          i ? ", " : "", e.name, e.dtype, e.shape, data.size(), data.size() + e.data.size());
    data += e.data;
  }
  return file_bytes(header + "}", data);
}

// Checks the message of opening `bytes` names the file and each of `needles`.
void expect_open_error(const std::string& bytes, ErrorKind kind, std::initializer_list<std::string_view> needles) {
  test::TempDir dir;
  const auto file = dir / "model.safetensors";
  test::write_file(file, bytes);
  const auto msg = error_of([&] { SafetensorsWeights::open(dir.path()); }, kind);
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  for (auto n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
}

const std::vector<float> kF32 = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 65504.0f};

TEST(Safetensors, ReadsEveryDtype) {
  test::TempDir dir;
  const std::vector<uint16_t> f16 = {0x3C00, 0xC100, 0x0001, 0x7BFF};  // 1, -2.5, 2^-24, 65504
  std::vector<uint16_t> bf16;
  for (float f : kF32) bf16.push_back(float_to_bfloat16(f));
  test::write_file(dir / "model.safetensors",
                   build({{"b.f32", "F32", "[2, 3]", bytes_of(kF32)},
                          {"a.f16", "F16", "[4]", bytes_of(f16)},
                          {"c.bf16", "BF16", "[3, 2]", bytes_of(bf16)},
                          {"d.empty", "F32", "[0, 5]", ""}},
                         R"({"format": "pt"})"));
  const SafetensorsWeights w = SafetensorsWeights::open(dir.path());
  EXPECT_EQ(w.names(), (std::vector<std::string>{"a.f16", "b.f32", "c.bf16", "d.empty"}));
  EXPECT_TRUE(w.has("b.f32"));
  EXPECT_FALSE(w.has("b"));

  const WeightInfo& i = w.info("b.f32");
  EXPECT_EQ(i.shape, (Shape{2, 3}));
  EXPECT_EQ(i.dtype, WeightDType::F32);
  EXPECT_EQ(i.size, 24u);
  EXPECT_EQ(i.file, dir / "model.safetensors");
  EXPECT_EQ(w.load_float("b.f32"), kF32);
  EXPECT_EQ(std::memcmp(w.raw("b.f32").data(), kF32.data(), 24), 0);

  EXPECT_EQ(w.load_float("a.f16"), (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24), 65504.0f}));
  const auto bf = w.load_float("c.bf16");
  for (std::size_t k = 0; k < kF32.size(); ++k) EXPECT_EQ(bf[k], bfloat16_to_float(bf16[k]));
  EXPECT_TRUE(w.load_float("d.empty").empty());

  const Tensor t = w.load_tensor("c.bf16");
  EXPECT_EQ(t.dtype(), DataType::FLOAT32);
  EXPECT_EQ(t.layout(), Layout::ROW_MAJOR);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.data<float>()[2], bf[2]);

  const auto msg = error_of([&] { w.mapped("a.f16"); }, ErrorKind::Unsupported);
  EXPECT_NE(msg.find("a.f16"), std::string::npos);
  const auto missing = error_of([&] { w.info("nope"); }, ErrorKind::ModelFormat);
  EXPECT_NE(missing.find("'nope'"), std::string::npos);
}

TEST(Safetensors, MappedTensorOutlivesTheSource) {
  test::TempDir dir;
  test::write_file(dir / "w.safetensors", build({{"w", "F32", "[6]", bytes_of(kF32)}}));
  Tensor t;
  {
    const SafetensorsWeights w = SafetensorsWeights::open_file(dir / "w.safetensors");
    t = w.mapped("w");
    EXPECT_EQ(t.raw(), reinterpret_cast<std::byte*>(const_cast<std::byte*>(w.raw("w").data())));
  }
  // The mapping is held by the tensor's storage.
  EXPECT_EQ(t.dtype(), DataType::FLOAT32);
  EXPECT_EQ(std::vector<float>(t.data<float>(), t.data<float>() + 6), kF32);
}

TEST(Safetensors, HalfToFloatIsExact) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    const uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    const float sign = (h & 0x8000) ? -1.0f : 1.0f;
    if (exp == 0x1F) {
      EXPECT_TRUE(mant ? std::isnan(f) : std::isinf(f)) << h;
      continue;
    }
    const float want = exp == 0 ? sign * std::ldexp(static_cast<float>(mant), -24)
                                : sign * std::ldexp(1.0f + static_cast<float>(mant) / 1024.0f, static_cast<int>(exp) - 15);
    ASSERT_EQ(f, want) << std::hex << h;
    ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;
  }
}

TEST(Safetensors, TruncatedFile) {
  expect_open_error(std::string("\x10\x00\x00", 3), ErrorKind::ModelFormat, {"3 bytes", "8-byte header length"});
}

TEST(Safetensors, HeaderLengthPastTheEnd) {
  expect_open_error(le64(1000) + "{}", ErrorKind::ModelFormat, {"header length 1000", "past the end"});
}

TEST(Safetensors, MalformedHeaderJson) {
  expect_open_error(file_bytes("{\"w\": {\"dtype\": ", ""), ErrorKind::ModelFormat, {"malformed JSON", "line 1"});
  expect_open_error(file_bytes("[1, 2]", ""), ErrorKind::ModelFormat, {"header must be a JSON object"});
}

TEST(Safetensors, ShapeDisagreesWithByteRange) {
  const std::string data(24, '\0');
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 24]}})", data),
                    ErrorKind::ModelFormat, {"'w'", "'data_offsets' [0, 24] spans 24 bytes", "'shape' [2, 4]", "needs 32"});
}

TEST(Safetensors, OverlappingTensors) {
  const std::string data(32, '\0');
  expect_open_error(file_bytes(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                   "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                               data),
                    ErrorKind::ModelFormat, {"'a' [0, 16]", "'b' [8, 24]", "overlap"});
}

TEST(Safetensors, OffsetsOutsideTheFile) {
  const std::string data(16, '\0');
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}})", data),
                    ErrorKind::ModelFormat, {"'w'", "'data_offsets' [0, 32]", "past the data section (16 bytes"});
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", data),
                    ErrorKind::ModelFormat, {"'w'", "begin after end"});
}

TEST(Safetensors, MissingAndMistypedFields) {
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "data_offsets": [0, 0]}})", ""), ErrorKind::ModelFormat,
                    {"'w'", "missing field 'shape'"});
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})", ""),
                    ErrorKind::ModelFormat, {"'w'", "'shape' must be a list of non-negative integers"});
  expect_open_error(file_bytes(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", std::string(4, '\0')),
                    ErrorKind::ModelFormat, {"'w'", "'data_offsets' must be [begin, end]"});
  expect_open_error(file_bytes(R"({"__metadata__": 3})", ""), ErrorKind::ModelFormat, {"'__metadata__'"});
}

TEST(Safetensors, UnsupportedAndUnknownDtypes) {
  expect_open_error(file_bytes(R"({"pos": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})",
                               std::string(16, '\0')),
                    ErrorKind::Unsupported, {"'pos'", "'I64'"});
  expect_open_error(file_bytes(R"({"q": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 16]}})",
                               std::string(16, '\0')),
                    ErrorKind::ModelFormat, {"'q'", "'Q4_K'", "not a safetensors dtype"});
}

TEST(Safetensors, NoWeightsInDirectory) {
  test::TempDir dir;
  const auto msg = error_of([&] { SafetensorsWeights::open(dir.path()); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(Safetensors, ShardedIndex) {
  test::TempDir dir;
  test::write_file(dir / "s1.safetensors", build({{"a", "F32", "[6]", bytes_of(kF32)}}));
  test::write_file(dir / "s2.safetensors", build({{"b", "F32", "[2]", bytes_of(std::vector<float>{7, 8})}}));
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"metadata": {"total_size": 32}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  const SafetensorsWeights w = SafetensorsWeights::open(dir.path());
  EXPECT_EQ(w.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(w.info("b").file, dir / "s2.safetensors");
  EXPECT_EQ(w.load_float("b"), (std::vector<float>{7, 8}));
  EXPECT_EQ(w.source(), dir / "model.safetensors.index.json");
}

TEST(Safetensors, IndexErrors) {
  test::TempDir dir;
  const auto index = dir / "model.safetensors.index.json";
  test::write_file(dir / "s1.safetensors", build({{"a", "F32", "[6]", bytes_of(kF32)}}));
  const auto check = [&](std::string_view json, std::initializer_list<std::string_view> needles) {
    test::write_file(index, json);
    const auto msg = error_of([&] { SafetensorsWeights::open(dir.path()); }, ErrorKind::ModelFormat);
    EXPECT_NE(msg.find(index.string()), std::string::npos) << msg;
    for (auto n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  };
  check(R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})",
        {"'weight_map.b'", "shard 's2.safetensors'", "does not exist"});
  check(R"({"weight_map": {"a": "s1.safetensors", "z": "s1.safetensors"}})",
        {"'weight_map.z'", "has no tensor 'z'"});
  check(R"({"weight_map": {"a": "../s1.safetensors"}})", {"'weight_map.a'", "same directory"});
  check(R"({"weight_map": {"a": 3}})", {"'weight_map.a'", "must be a file name"});
  check(R"({"metadata": {}})", {"missing field 'weight_map'"});
  check(R"({"weight_map": {"a": "s1.safetensors"},})", {"malformed JSON"});
}

TEST(Safetensors, BundledModels) {
  const SafetensorsWeights f32 = SafetensorsWeights::open(test::model_path("stories260K"));
  const SafetensorsWeights bf16 = SafetensorsWeights::open(test::model_path("stories260K-bf16-sharded"));
  EXPECT_EQ(f32.size(), 47u);  // embedding, final norm, 5 layers x 9
  EXPECT_EQ(f32.names(), bf16.names());
  std::set<std::filesystem::path> shards;
  for (const auto& name : f32.names()) {
    const WeightInfo &a = f32.info(name), &b = bf16.info(name);
    EXPECT_EQ(a.shape, b.shape) << name;
    EXPECT_EQ(a.dtype, WeightDType::F32);
    EXPECT_EQ(b.dtype, WeightDType::BF16);
    shards.insert(b.file.filename());
    // The sharded copy is the F32 weights rounded to nearest even.
    const auto x = f32.load_float(name), y = bf16.load_float(name);
    for (std::size_t k = 0; k < x.size(); ++k) ASSERT_EQ(y[k], bfloat16_to_float(float_to_bfloat16(x[k]))) << name;
  }
  EXPECT_EQ(shards.size(), 2u);
  EXPECT_EQ(f32.info("model.embed_tokens.weight").shape, (Shape{512, 64}));
}

}  // namespace
}  // namespace ttt
