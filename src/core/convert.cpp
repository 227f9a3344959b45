// Tensor-level conversions between row-major float values and host tensors in every
// dtype and layout.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {
namespace {

// Per-dtype element conversions for the formats with whole-byte elements.
struct Float32Codec {
  using Stored = float;
  static float encode(float v) { return v; }
  static float decode(float v) { return v; }
};

struct BFloat16Codec {
  using Stored = uint16_t;
  static uint16_t encode(float v) { return float_to_bfloat16(v); }
  static float decode(uint16_t v) { return bfloat16_to_float(v); }
};

// Integers: truncate toward zero, saturate at the type's range, NaN gives 0.
struct Int32Codec {
  using Stored = int32_t;
  static int32_t encode(float v) {
    if (std::isnan(v)) return 0;
    if (v >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
    if (v < -2147483648.0f) return std::numeric_limits<int32_t>::min();
    return static_cast<int32_t>(v);
  }
  static float decode(int32_t v) { return static_cast<float>(v); }
};

struct UInt32Codec {
  using Stored = uint32_t;
  static uint32_t encode(float v) {
    if (std::isnan(v) || v <= 0.0f) return 0;
    if (v >= 4294967296.0f) return std::numeric_limits<uint32_t>::max();
    return static_cast<uint32_t>(v);
  }
  static float decode(uint32_t v) { return static_cast<float>(v); }
};

template <typename Codec>
void encode_values(std::span<const float> values, const Tensor& tensor) {
  using Stored = typename Codec::Stored;
  Stored* dst = tensor.data<Stored>();
  const float* src = values.data();
  if (tensor.layout() == Layout::ROW_MAJOR) {
    for (std::size_t k = 0; k < values.size(); ++k) dst[k] = Codec::encode(src[k]);
    return;
  }
  // Padding is written too (zero bits are zero in every format): the storage may be a
  // reused buffer, or a view of one laid out for a larger shape.
  for_each_face_row(tile_geometry(tensor.shape()), [&](const FaceRow& row) {
    Stored* out = dst + row.stored_row * kFaceSize;
    const float* in = src + row.logical_offset;
    for (int k = 0; k < row.valid; ++k) out[k] = Codec::encode(in[k]);
    for (int k = row.valid; k < kFaceSize; ++k) out[k] = Stored{};
  });
}

template <typename Codec>
void decode_values(const Tensor& tensor, std::span<float> out) {
  using Stored = typename Codec::Stored;
  const Stored* src = tensor.data<Stored>();
  float* dst = out.data();
  if (tensor.layout() == Layout::ROW_MAJOR) {
    for (std::size_t k = 0; k < out.size(); ++k) dst[k] = Codec::decode(src[k]);
    return;
  }
  for_each_face_row(tile_geometry(tensor.shape()), [&](const FaceRow& row) {
    const Stored* in = src + row.stored_row * kFaceSize;
    float* o = dst + row.logical_offset;
    for (int k = 0; k < row.valid; ++k) o[k] = Codec::decode(in[k]);
  });
}

// Where face row `stored_row` of a block-float tensor keeps its exponent and magnitudes.
struct BfpRowBytes {
  int64_t exponent;
  int64_t mantissas;
};

BfpRowBytes bfp_row_location(DataType t, int64_t stored_row) {
  constexpr int64_t kRowsPerTile = 4 * kFaceSize;
  const int64_t tile = stored_row / kRowsPerTile;
  const int64_t r = stored_row % kRowsPerTile;
  const int64_t base = tile * tile_bytes(t);
  return {base + r, base + kBfpExponentBytes + r * bfp_row_bytes(t)};
}

void encode_block_float(std::span<const float> values, const Tensor& tensor) {
  const DataType t = tensor.dtype();
  auto* bytes = tensor.data<uint8_t>();
  const float* src = values.data();
  for_each_face_row(tile_geometry(tensor.shape()), [&](const FaceRow& row) {
    float padded[kBfpRowElems] = {};
    if (row.valid) std::memcpy(padded, src + row.logical_offset, static_cast<std::size_t>(row.valid) * sizeof(float));
    const BfpRowBytes at = bfp_row_location(t, row.stored_row);
    bytes[at.exponent] = encode_bfp_row(t, padded, bytes + at.mantissas);
  });
}

void decode_block_float(const Tensor& tensor, std::span<float> out) {
  const DataType t = tensor.dtype();
  const auto* bytes = tensor.data<const uint8_t>();
  float* dst = out.data();
  for_each_face_row(tile_geometry(tensor.shape()), [&](const FaceRow& row) {
    if (row.valid == 0) return;
    const BfpRowBytes at = bfp_row_location(t, row.stored_row);
    float decoded[kBfpRowElems];
    decode_bfp_row(t, bytes[at.exponent], bytes + at.mantissas, decoded);
    std::memcpy(dst + row.logical_offset, decoded, static_cast<std::size_t>(row.valid) * sizeof(float));
  });
}

}  // namespace

Tensor from_float(std::span<const float> values, TensorSpec spec) {
  TTT_CHECK(!is_block_float(spec.dtype) || spec.layout == Layout::TILE, InvalidConfig,
            "from_float: tensor '{}' asks for {} in {} layout; block floats exist only in TILE layout: use "
            "layout TILE, or dtype BFLOAT16 or FLOAT32 for ROW_MAJOR",
            spec.name, to_string(spec.dtype), to_string(spec.layout));
  TTT_CHECK(static_cast<int64_t>(values.size()) == spec.shape.volume(), ShapeMismatch,
            "from_float: tensor '{}' of shape {} needs {} values; got {}", spec.name, spec.shape.str(),
            spec.shape.volume(), values.size());
  Tensor tensor = Tensor::empty(std::move(spec));
  from_float(values, tensor);
  return tensor;
}

void from_float(std::span<const float> values, Tensor& tensor) {
  TTT_CHECK(tensor.defined(), InvalidConfig, "from_float: tensor '{}' has no storage", tensor.name());
  TTT_CHECK(!is_block_float(tensor.dtype()) || tensor.layout() == Layout::TILE, InvalidConfig,
            "from_float: tensor '{}' is {} in {} layout; block floats exist only in TILE layout", tensor.name(),
            to_string(tensor.dtype()), to_string(tensor.layout()));
  TTT_CHECK(static_cast<int64_t>(values.size()) == tensor.shape().volume(), ShapeMismatch,
            "from_float: tensor '{}' of shape {} needs {} values; got {}", tensor.name(), tensor.shape().str(),
            tensor.shape().volume(), values.size());
  switch (tensor.dtype()) {
    case DataType::FLOAT32: encode_values<Float32Codec>(values, tensor); break;
    case DataType::BFLOAT16: encode_values<BFloat16Codec>(values, tensor); break;
    case DataType::INT32: encode_values<Int32Codec>(values, tensor); break;
    case DataType::UINT32: encode_values<UInt32Codec>(values, tensor); break;
    case DataType::BFLOAT8_B:
    case DataType::BFLOAT4_B: encode_block_float(values, tensor); break;
  }
}

void to_float(const Tensor& tensor, std::span<float> out) {
  TTT_CHECK(tensor.defined(), InvalidConfig, "to_float: tensor '{}' has no storage", tensor.name());
  TTT_CHECK(static_cast<int64_t>(out.size()) == tensor.shape().volume(), ShapeMismatch,
            "to_float: tensor '{}' of shape {} has {} values; the output has room for {}", tensor.name(),
            tensor.shape().str(), tensor.shape().volume(), out.size());
  switch (tensor.dtype()) {
    case DataType::FLOAT32: decode_values<Float32Codec>(tensor, out); break;
    case DataType::BFLOAT16: decode_values<BFloat16Codec>(tensor, out); break;
    case DataType::INT32: decode_values<Int32Codec>(tensor, out); break;
    case DataType::UINT32: decode_values<UInt32Codec>(tensor, out); break;
    case DataType::BFLOAT8_B:
    case DataType::BFLOAT4_B: decode_block_float(tensor, out); break;
  }
}

std::vector<float> to_float(const Tensor& tensor) {
  std::vector<float> out(static_cast<std::size_t>(tensor.shape().volume()));
  to_float(tensor, std::span<float>(out));
  return out;
}

}  // namespace ttt
