#include "op_common.hpp"

#include <array>
#include <cstring>
#include <vector>

#include "ttt/formats.hpp"

namespace ttt::ops {

std::span<float> scratch(std::size_t n, int slot) {
  constexpr int kSlots = 8;
  thread_local std::array<std::vector<float>, kSlots> buffers;
  TTT_CHECK(slot >= 0 && slot < kSlots, InvalidConfig, "scratch slot {} out of range [0, {})", slot, kSlots);
  auto& b = buffers[static_cast<std::size_t>(slot)];
  if (b.size() < n) b.resize(n);
  return {b.data(), n};
}

std::span<const float> load_float(const Tensor& t, int slot) {
  const auto n = static_cast<std::size_t>(t.shape().volume());
  if (t.dtype() == DataType::FLOAT32 && t.layout() == Layout::ROW_MAJOR) return {t.data<const float>(), n};
  auto s = scratch(n, slot);
  to_float(t, s);
  return s;
}

std::span<float> output_staging(Tensor& out, int slot) {
  const auto n = static_cast<std::size_t>(out.shape().volume());
  if (out.dtype() == DataType::FLOAT32 && out.layout() == Layout::ROW_MAJOR) return {out.data<float>(), n};
  return scratch(n, slot);
}

void store_float(std::span<const float> values, Tensor& out) {
  const auto n = static_cast<std::size_t>(out.shape().volume());
  TTT_CHECK(values.size() == n, ShapeMismatch, "store into '{}' {}: expected {} values, got {}", out.name(),
            out.shape().str(), n, values.size());
  if (out.dtype() == DataType::FLOAT32 && out.layout() == Layout::ROW_MAJOR) {
    if (values.data() != out.data<float>()) std::memcpy(out.data<float>(), values.data(), n * sizeof(float));
    return;
  }
  if (out.dtype() == DataType::BFLOAT16 && out.layout() == Layout::ROW_MAJOR) {
    float_to_bfloat16(values, std::span<uint16_t>(out.data<uint16_t>(), n));
    return;
  }
  // Other formats (tiles, block floats): encoded in place, padding included.
  from_float(values, out);
}

void check_same_shape(std::string_view op, std::string_view what, const Shape& found, const Shape& expected) {
  TTT_CHECK(found == expected, ShapeMismatch, "{}: {} has shape {}, expected {}", op, what, found.str(),
            expected.str());
}

void check_tensor_matches(std::string_view op, const Tensor& t, const TensorSpec& expected) {
  TTT_CHECK(t.defined(), InvalidConfig, "{}: tensor '{}' has no storage", op, expected.name);
  check_same_shape(op, t.name().empty() ? expected.name : t.name(), t.shape(), expected.shape);
  TTT_CHECK(t.dtype() == expected.dtype && t.layout() == expected.layout, ShapeMismatch,
            "{}: tensor '{}' is {} {}, expected {} {}", op, t.name(), to_string(t.dtype()), to_string(t.layout()),
            to_string(expected.dtype), to_string(expected.layout));
}

void check_dtype_in(std::string_view op, std::string_view what, DataType found, std::initializer_list<DataType> allowed) {
  std::string names;
  for (DataType d : allowed) {
    if (d == found) return;
    names += (names.empty() ? "" : ", ") + std::string(to_string(d));
  }
  fail(ErrorKind::InvalidConfig, "{}: {} dtype {} is not supported; use one of {}", op, what, to_string(found), names);
}

double stored_bytes(const TensorSpec& spec) { return static_cast<double>(spec.bytes()); }

}  // namespace ttt::ops
