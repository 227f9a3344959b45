// BFLOAT8_B / BFLOAT4_B packing and unpacking, bit for bit as TTNN's host packer
// (tt_metal/impl/data_format/blockfloat_common.cpp, bfloat8.cpp, bfloat4.cpp). See
// docs/formats.md for each rule and the version it follows.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {
namespace {

// One element against shared exponent `shared`; returns sign << kBits | magnitude.
//  - exponent field 0 (zero or denormal): 0. Denormals are flushed, as newer TTNN does.
//  - the 24-bit significand (implicit 1 made explicit) is shifted right by
//    shared - exp (the bits shifted out are lost, not kept as sticky bits), then by
//    24 - kBits with round to nearest, ties to even, then saturated to the largest
//    magnitude: the shared exponent is never raised.
//  - a zero magnitude drops the sign.
template <int kBits>
inline uint32_t encode_code(uint32_t u, uint32_t shared) {
  constexpr uint32_t kShift = 24 - kBits;
  constexpr uint32_t kMax = (1u << kBits) - 1;
  const uint32_t exp = (u >> 23) & 0xFFu;
  // A shift of 31 already clears the 24-bit significand; capping it keeps the shift defined.
  const uint32_t diff = std::min(shared > exp ? shared - exp : 0u, 31u);
  uint32_t m = ((u & 0x7FFFFFu) | 0x800000u) >> diff;
  // Adds just under half an output step, plus one when the kept part is odd: a dropped
  // part above half carries, exactly half carries only into an odd kept part.
  m = (m + ((1u << (kShift - 1)) - 1) + ((m >> kShift) & 1u)) >> kShift;
  m = std::min(m, kMax);
  if (exp == 0) m = 0;
  return m ? (m | ((u >> 31) << kBits)) : 0u;
}

template <int kBits>
inline uint8_t encode_row(const float* values, uint8_t* out) {
  uint32_t u[kBfpRowElems];
  std::memcpy(u, values, sizeof(u));
  uint32_t shared = 0;
  for (int k = 0; k < kBfpRowElems; ++k) shared = std::max(shared, (u[k] >> 23) & 0xFFu);
  uint32_t codes[kBfpRowElems];
  for (int k = 0; k < kBfpRowElems; ++k) codes[k] = encode_code<kBits>(u[k], shared);
  if constexpr (kBits == 7) {
    for (int k = 0; k < kBfpRowElems; ++k) out[k] = static_cast<uint8_t>(codes[k]);
  } else {
    for (int k = 0; k < kBfpRowElems / 2; ++k) out[k] = static_cast<uint8_t>(codes[2 * k] | (codes[2 * k + 1] << 4));
  }
  return static_cast<uint8_t>(shared);
}

// TTNN's unpacker, bit for bit: normalise the magnitude by shifting its leading 1 up to
// the top stored bit, lower the exponent by the shift, drop the leading 1. A result
// whose exponent would go below 0 is +0; one landing exactly on 0 keeps the raw
// fraction bits (a float denormal), as the reference code does. With E == 255 the
// result is inf (magnitude 100...0) or NaN (anything else with the top bit set).
template <int kBits>
inline uint32_t decode_code_exact(uint32_t code, uint32_t shared) {
  constexpr uint32_t kMask = (1u << kBits) - 1;
  const uint32_t mag = code & kMask;
  const uint32_t sign = ((code >> kBits) & 1u) << 31;
  if (mag == 0) return sign;
  const auto shift = static_cast<uint32_t>(kBits - std::bit_width(mag));
  if (shift > shared) return 0;
  const uint32_t frac = (mag << (shift + 1)) & kMask;
  return sign | ((shared - shift) << 23) | (frac << (23 - kBits));
}

template <int kBits>
inline void decode_row(uint8_t shared, const uint8_t* in, float* out) {
  constexpr uint32_t kMask = (1u << kBits) - 1;
  uint32_t codes[kBfpRowElems];
  if constexpr (kBits == 7) {
    for (int k = 0; k < kBfpRowElems; ++k) codes[k] = in[k];
  } else {
    for (int k = 0; k < kBfpRowElems / 2; ++k) {
      codes[2 * k] = in[k] & 0xFu;
      codes[2 * k + 1] = in[k] >> 4;
    }
  }
  if (shared >= kBits && shared != 255) {
    // m * 2^(E - 127 - (kBits - 1)) is exact in float here and never denormal, so a
    // multiply gives the same bits as the normalising unpacker.
    const float scale = std::bit_cast<float>(static_cast<uint32_t>(shared - (kBits - 1)) << 23);
    for (int k = 0; k < kBfpRowElems; ++k) {
      const float magnitude = static_cast<float>(static_cast<int32_t>(codes[k] & kMask)) * scale;
      out[k] = std::bit_cast<float>(std::bit_cast<uint32_t>(magnitude) | ((codes[k] >> kBits) << 31));
    }
  } else {
    for (int k = 0; k < kBfpRowElems; ++k) out[k] = std::bit_cast<float>(decode_code_exact<kBits>(codes[k], shared));
  }
}

void check_block_float(DataType t, const char* what) {
  TTT_CHECK(is_block_float(t), InvalidConfig, "{}: {} is not a block-float dtype; use BFLOAT8_B or BFLOAT4_B", what,
            to_string(t));
}

}  // namespace

uint8_t encode_bfp_element(DataType t, float value, uint8_t shared_exp) {
  check_block_float(t, "encode_bfp_element");
  const auto u = std::bit_cast<uint32_t>(value);
  return static_cast<uint8_t>(t == DataType::BFLOAT8_B ? encode_code<7>(u, shared_exp) : encode_code<3>(u, shared_exp));
}

uint8_t encode_bfp_row(DataType t, const float* values, uint8_t* mantissas) {
  check_block_float(t, "encode_bfp_row");
  return t == DataType::BFLOAT8_B ? encode_row<7>(values, mantissas) : encode_row<3>(values, mantissas);
}

void decode_bfp_row(DataType t, uint8_t shared_exp, const uint8_t* mantissas, float* out) {
  TTT_DEBUG_ASSERT(is_block_float(t));
  if (t == DataType::BFLOAT8_B) {
    decode_row<7>(shared_exp, mantissas, out);
  } else {
    decode_row<3>(shared_exp, mantissas, out);
  }
}

namespace {

template <int kBits>
void pack_tiles(const float* src, uint8_t* dst, int64_t tiles) {
  constexpr int64_t kRowBytes = kBfpRowElems * (kBits + 1) / 8;
  constexpr int64_t kTileBytes = kBfpExponentBytes + 4 * kFaceSize * kRowBytes;
  for (int64_t t = 0; t < tiles; ++t) {
    uint8_t* tile = dst + t * kTileBytes;
    const float* values = src + t * kTileElems;
    for (int64_t q = 0; q < 4 * kFaceSize; ++q) {
      tile[q] = encode_row<kBits>(values + q * kBfpRowElems, tile + kBfpExponentBytes + q * kRowBytes);
    }
  }
}

template <int kBits>
void unpack_tiles(const uint8_t* src, float* dst, int64_t tiles) {
  constexpr int64_t kRowBytes = kBfpRowElems * (kBits + 1) / 8;
  constexpr int64_t kTileBytes = kBfpExponentBytes + 4 * kFaceSize * kRowBytes;
  for (int64_t t = 0; t < tiles; ++t) {
    const uint8_t* tile = src + t * kTileBytes;
    float* values = dst + t * kTileElems;
    for (int64_t q = 0; q < 4 * kFaceSize; ++q) {
      decode_row<kBits>(tile[q], tile + kBfpExponentBytes + q * kRowBytes, values + q * kBfpRowElems);
    }
  }
}

}  // namespace

void pack_bfp_tiles(DataType t, std::span<const float> tiled, std::span<uint8_t> bytes) {
  check_block_float(t, "pack_bfp_tiles");
  TTT_CHECK(tiled.size() % kTileElems == 0, ShapeMismatch,
            "pack_bfp_tiles: {} values are not a whole number of {}-element tiles", tiled.size(), kTileElems);
  const auto tiles = static_cast<int64_t>(tiled.size()) / kTileElems;
  TTT_CHECK(static_cast<int64_t>(bytes.size()) == tiles * tile_bytes(t), ShapeMismatch,
            "pack_bfp_tiles: {} tiles of {} need {} bytes; the output has {}", tiles, to_string(t),
            tiles * tile_bytes(t), bytes.size());
  if (t == DataType::BFLOAT8_B) {
    pack_tiles<7>(tiled.data(), bytes.data(), tiles);
  } else {
    pack_tiles<3>(tiled.data(), bytes.data(), tiles);
  }
}

void unpack_bfp_tiles(DataType t, std::span<const uint8_t> bytes, std::span<float> tiled) {
  check_block_float(t, "unpack_bfp_tiles");
  TTT_CHECK(static_cast<int64_t>(bytes.size()) % tile_bytes(t) == 0, ShapeMismatch,
            "unpack_bfp_tiles: {} bytes are not a whole number of {}-byte {} tiles", bytes.size(), tile_bytes(t),
            to_string(t));
  const auto tiles = static_cast<int64_t>(bytes.size()) / tile_bytes(t);
  TTT_CHECK(static_cast<int64_t>(tiled.size()) == tiles * kTileElems, ShapeMismatch,
            "unpack_bfp_tiles: {} tiles hold {} values; the output has room for {}", tiles, tiles * kTileElems,
            tiled.size());
  if (t == DataType::BFLOAT8_B) {
    unpack_tiles<7>(bytes.data(), tiled.data(), tiles);
  } else {
    unpack_tiles<3>(bytes.data(), tiled.data(), tiles);
  }
}

}  // namespace ttt
