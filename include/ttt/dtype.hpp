// Data types and layouts, spelled as TTNN spells them.
#pragma once

#include <cstdint>

#include "ttt/enum.hpp"

namespace ttt {

TTT_ENUM(DataType, FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B, INT32, UINT32)
TTT_ENUM(Layout, ROW_MAJOR, TILE)

inline constexpr int64_t kTileSize = 32;   // a tile is 32x32 elements
inline constexpr int64_t kFaceSize = 16;   // made of four 16x16 faces
inline constexpr int64_t kTileElems = kTileSize * kTileSize;

// Block-float formats: 16 values (one face row) share one 8-bit exponent.
constexpr bool is_block_float(DataType t) { return t == DataType::BFLOAT8_B || t == DataType::BFLOAT4_B; }
constexpr bool is_float(DataType t) { return t != DataType::INT32 && t != DataType::UINT32; }

// Stored magnitude bits of one block-float element (the sign is extra).
constexpr int block_float_mantissa_bits(DataType t) { return t == DataType::BFLOAT8_B ? 7 : 3; }

// Bytes of one 32x32 tile in this format (bfp8: 64 exponents + 1024 bytes, bfp4: 64 + 512).
constexpr int64_t tile_bytes(DataType t) {
  switch (t) {
    case DataType::FLOAT32:
    case DataType::INT32:
    case DataType::UINT32: return 4096;
    case DataType::BFLOAT16: return 2048;
    case DataType::BFLOAT8_B: return 64 + 1024;
    case DataType::BFLOAT4_B: return 64 + 512;
  }
  return 0;
}

// Bytes of one element for the formats that have whole-byte elements (0 for block floats).
constexpr int64_t element_bytes(DataType t) {
  switch (t) {
    case DataType::FLOAT32:
    case DataType::INT32:
    case DataType::UINT32: return 4;
    case DataType::BFLOAT16: return 2;
    default: return 0;
  }
}

// Average bits per element as stored (bfp8: 8.5, bfp4: 4.5), for bandwidth figures.
constexpr double bits_per_element(DataType t) { return static_cast<double>(tile_bytes(t)) * 8.0 / kTileElems; }

// The short name tables print: fp32, bf16, bfp8_b, bfp4_b, int32, uint32.
constexpr const char* short_name(DataType t) {
  switch (t) {
    case DataType::FLOAT32: return "fp32";
    case DataType::BFLOAT16: return "bf16";
    case DataType::BFLOAT8_B: return "bfp8_b";
    case DataType::BFLOAT4_B: return "bfp4_b";
    case DataType::INT32: return "int32";
    case DataType::UINT32: return "uint32";
  }
  return "?";
}

// The short names parse too (bf16, bfp8_b, ...), and bfp8 / bfp4 for the block floats.
inline bool enum_alias(std::string_view text, DataType& out) {
  for (DataType t : enum_values<DataType>()) {
    if (detail::iequals(short_name(t), text)) return out = t, true;
  }
  if (detail::iequals(text, "bfp8")) return out = DataType::BFLOAT8_B, true;
  if (detail::iequals(text, "bfp4")) return out = DataType::BFLOAT4_B, true;
  return false;
}

}  // namespace ttt
