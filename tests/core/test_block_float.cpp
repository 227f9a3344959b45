// BFLOAT8_B / BFLOAT4_B: hand-derived bytes for each packing rule, the tile byte layout,
// the unpacker against a literal model of TTNN's, and round-trip error bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "ttt/formats.hpp"

namespace ttt {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

using Row = std::array<float, 16>;

struct PackedRow {
  uint8_t exponent = 0;
  std::vector<uint8_t> bytes;
};

PackedRow pack(DataType t, const Row& row) {
  PackedRow p;
  p.bytes.resize(static_cast<std::size_t>(bfp_row_bytes(t)));
  p.exponent = encode_bfp_row(t, row.data(), p.bytes.data());
  return p;
}

Row unpack(DataType t, const PackedRow& p) {
  Row out{};
  decode_bfp_row(t, p.exponent, p.bytes.data(), out.data());
  return out;
}

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

// ---- bfp8 -------------------------------------------------------------------------------

TEST(BlockFloat, Bfp8SharesTheLargestExponent) {
  // Largest exponent field: 3.0 = 1.5 * 2^1 -> 128 = 0x80. Each value's 24-bit
  // significand (implicit 1 explicit) shifts right by 128 - own exponent, then by 17:
  //   1.0  : exp 127, 0x800000 >> 1 = 0x400000, >> 17 = 0x20
  //   0.5  : exp 126, 0x800000 >> 2 = 0x200000, >> 17 = 0x10
  //   0.25 : exp 125, >> 3 -> 0x08
  //   3.0  : exp 128, 0xC00000 >> 17 = 0x60
  //  -1.5  : exp 127, 0xC00000 >> 1 = 0x600000, >> 17 = 0x30, sign -> 0xB0
  //   0    : 0x00
  // Decoding: m * 2^(128 - 127 - 6) = m / 32.
  const Row row{1.0f, 0.5f, 0.25f, 3.0f, -1.5f};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 0x80);
  const std::vector<uint8_t> expected{0x20, 0x10, 0x08, 0x60, 0xB0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(p.bytes, expected);
  EXPECT_EQ(unpack(DataType::BFLOAT8_B, p), row);
}

TEST(BlockFloat, Bfp8RoundsTiesToEven) {
  // Shared exponent 127 (all values in [1, 2)), so nothing is pre-shifted; the 17
  // dropped bits of the significand decide, and 0x10000 is the tie.
  //   1 + 2^-7          : 0x810000 -> kept 0x40 (even), dropped 0x10000 tie -> 0x40 (1.0)
  //   1 + 2^-6 + 2^-7   : 0x830000 -> kept 0x41 (odd),  tie -> 0x42 (1.03125)
  //   1 + 2^-7 + 2^-23  : 0x810001 -> dropped 0x10001 > tie -> 0x41
  //   1 + 2^-6 + 2^-7 - 2^-23 : 0x82FFFF -> dropped 0xFFFF < tie -> 0x41
  //  -(1 + 2^-7)        : sign with 0x40 -> 0xC0
  const Row row{1.0078125f, 1.0234375f, std::bit_cast<float>(0x3F810001u), std::bit_cast<float>(0x3F82FFFFu),
                -1.0078125f, 1.0f};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 127);
  EXPECT_EQ(p.bytes[0], 0x40);
  EXPECT_EQ(p.bytes[1], 0x42);
  EXPECT_EQ(p.bytes[2], 0x41);
  EXPECT_EQ(p.bytes[3], 0x41);
  EXPECT_EQ(p.bytes[4], 0xC0);
  EXPECT_EQ(p.bytes[5], 0x40);
  const Row back = unpack(DataType::BFLOAT8_B, p);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], 1.03125f);
  EXPECT_EQ(back[4], -1.0f);
}

TEST(BlockFloat, Bfp8AlignmentShiftDropsBitsBeforeRounding) {
  // With 2.0 in the row the shared exponent is 128. 1 + 2^-6 + 2^-23 (0x820001) shifts
  // right by 1 to 0x410000: its lowest bit is gone before rounding, so the dropped part
  // is exactly the tie 0x10000 and the even kept value 0x20 stays (decodes as 1.0), though
  // the input was above the midpoint. 1 + 2^-6 + 2^-22 (0x820002) keeps its extra bit:
  // 0x410001 rounds up to 0x21.
  const Row row{2.0f, std::bit_cast<float>(0x3F820001u), std::bit_cast<float>(0x3F820002u)};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 128);
  EXPECT_EQ(p.bytes[0], 0x40);
  EXPECT_EQ(p.bytes[1], 0x20);
  EXPECT_EQ(p.bytes[2], 0x21);
}

TEST(BlockFloat, Bfp8ClampsInsteadOfRaisingTheExponent) {
  // 1.99999988 (0x3FFFFFFF): 0xFFFFFF >> 17 = 0x7F, dropped 0x1FFFF > tie -> 0x80, which
  // does not fit 7 bits: it saturates at 0x7F and the shared exponent stays 127.
  const Row row{std::bit_cast<float>(0x3FFFFFFFu), -std::bit_cast<float>(0x3FFFFFFFu), 1.0f};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 127);
  EXPECT_EQ(p.bytes[0], 0x7F);
  EXPECT_EQ(p.bytes[1], 0xFF);
  EXPECT_EQ(p.bytes[2], 0x40);
  const Row back = unpack(DataType::BFLOAT8_B, p);
  EXPECT_EQ(back[0], 1.984375f);
  EXPECT_EQ(back[1], -1.984375f);
}

TEST(BlockFloat, ZeroAndNegativeZeroPackAsZero) {
  const Row zeros{0.0f, -0.0f, 0.0f, -0.0f};
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    const PackedRow p = pack(t, zeros);
    EXPECT_EQ(p.exponent, 0) << to_string(t);
    for (uint8_t b : p.bytes) EXPECT_EQ(b, 0) << to_string(t);
    for (float v : unpack(t, p)) EXPECT_EQ(bits(v), 0u) << to_string(t);
  }
  // -0.0 next to non-zero values is still code 0 (no sign bit).
  EXPECT_EQ(encode_bfp_element(DataType::BFLOAT8_B, -0.0f, 127), 0);
  EXPECT_EQ(encode_bfp_element(DataType::BFLOAT4_B, -0.0f, 127), 0);
}

TEST(BlockFloat, DenormalsFlushToZero) {
  // 2^-126 is the smallest normal (exponent field 1); 0x00400000 is the denormal 2^-127.
  // Shared exponent 1. The normal packs as 0x40 and decodes back exactly; the denormal
  // packs as 0 (code that gave denormals an implicit 1 would produce 0x30 here).
  const float smallest_normal = std::bit_cast<float>(0x00800000u);
  const float denormal = std::bit_cast<float>(0x00400000u);
  const Row row{smallest_normal, denormal, -denormal};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 1);
  EXPECT_EQ(p.bytes[0], 0x40);
  EXPECT_EQ(p.bytes[1], 0x00);
  EXPECT_EQ(p.bytes[2], 0x00);
  const Row back = unpack(DataType::BFLOAT8_B, p);
  EXPECT_EQ(back[0], smallest_normal);
  EXPECT_EQ(bits(back[1]), 0u);
  // A row of denormals only has shared exponent 0 and all-zero codes.
  const PackedRow q = pack(DataType::BFLOAT4_B, Row{denormal, denormal});
  EXPECT_EQ(q.exponent, 0);
  EXPECT_EQ(q.bytes[0], 0);
}

TEST(BlockFloat, InfAndNanRowsUseExponent255) {
  // Shared exponent 255. inf: 0x800000 >> 17 = 0x40. NaN 0x7FC00000: 0xC00000 >> 17 = 0x60.
  // 1.0 and -2.0 shift right by 128 and 127: nothing is left, and -2.0 loses its sign.
  // 2^127 (exponent 254) shifts by 1: 0x400000 >> 17 = 0x20, which survives.
  // Unpacking: 0x40 -> exponent 255, fraction 0 -> inf; 0x60 -> fraction 0x40 -> 0x7FC00000.
  const float nan = std::bit_cast<float>(0x7FC00000u);
  const float big = std::ldexp(1.0f, 127);
  const Row row{kInf, 1.0f, -2.0f, nan, -kInf, big};
  const PackedRow p = pack(DataType::BFLOAT8_B, row);
  EXPECT_EQ(p.exponent, 255);
  const std::vector<uint8_t> head{0x40, 0x00, 0x00, 0x60, 0xC0, 0x20};
  EXPECT_EQ(std::vector<uint8_t>(p.bytes.begin(), p.bytes.begin() + 6), head);
  const Row back = unpack(DataType::BFLOAT8_B, p);
  EXPECT_EQ(back[0], kInf);
  EXPECT_EQ(bits(back[1]), 0u);
  EXPECT_EQ(bits(back[2]), 0u);
  EXPECT_EQ(bits(back[3]), 0x7FC00000u);
  EXPECT_EQ(back[4], -kInf);
  EXPECT_EQ(back[5], big);
  // A negative NaN keeps its sign; a signalling NaN with a tiny payload rounds to the
  // inf code (0x7F800001: 0x800001 >> 17 = 0x40, dropped 1 < tie).
  EXPECT_EQ(encode_bfp_element(DataType::BFLOAT8_B, std::bit_cast<float>(0xFFC00000u), 255), 0xE0);
  EXPECT_EQ(encode_bfp_element(DataType::BFLOAT8_B, std::bit_cast<float>(0x7F800001u), 255), 0x40);

  // bfp4: inf -> 0x800000 >> 21 = 4 -> decodes inf; NaN -> 0xC00000 >> 21 = 6 -> fraction
  // (6 << 1) & 7 = 4 -> 0x7FC00000. Codes [4, 0, 0, 6, 0xC, 2]: bytes 0x04, 0x60, 0x2C.
  const PackedRow q = pack(DataType::BFLOAT4_B, row);
  EXPECT_EQ(q.exponent, 255);
  EXPECT_EQ(q.bytes[0], 0x04);
  EXPECT_EQ(q.bytes[1], 0x60);
  EXPECT_EQ(q.bytes[2], 0x2C);
  const Row back4 = unpack(DataType::BFLOAT4_B, q);
  EXPECT_EQ(back4[0], kInf);
  EXPECT_EQ(bits(back4[3]), 0x7FC00000u);
  EXPECT_EQ(back4[4], -kInf);
  EXPECT_EQ(back4[5], big);
}

// ---- bfp4 -------------------------------------------------------------------------------

TEST(BlockFloat, Bfp4SmallValuesVanish) {
  // Shared exponent 130 (8.0 and 12.0); values shift by 130 - own exponent, then by 21,
  // tie 0x100000:
  //   8.0  : 0x800000 >> 21 = 4                      -> 4
  //   0.25 : >> 5 -> 0x040000 < tie                  -> 0
  //   0.5  : >> 4 -> 0x080000 < tie                  -> 0
  //   1.0  : >> 3 -> 0x100000 = tie, kept 0 is even  -> 0
  //   1.5  : >> 3 -> 0x180000 > tie                  -> 1 (decodes as 2.0)
  //  -1.0  : magnitude 0, the sign is dropped        -> 0
  //  -8.0  : 4 with sign                             -> 0xC
  //  12.0  : 0xC00000 >> 21 = 6                      -> 6
  // Codes [4, 0, 0, 0, 1, 0, 0xC, 6], two per byte, even element in the low nibble:
  // 0x04, 0x00, 0x01, 0x6C. Decoding: m * 2^(130 - 127 - 2) = 2m.
  const Row row{8.0f, 0.25f, 0.5f, 1.0f, 1.5f, -1.0f, -8.0f, 12.0f};
  const PackedRow p = pack(DataType::BFLOAT4_B, row);
  EXPECT_EQ(p.exponent, 130);
  const std::vector<uint8_t> expected{0x04, 0x00, 0x01, 0x6C, 0, 0, 0, 0};
  EXPECT_EQ(p.bytes, expected);
  const Row back = unpack(DataType::BFLOAT4_B, p);
  const Row want{8.0f, 0.0f, 0.0f, 0.0f, 2.0f, 0.0f, -8.0f, 12.0f};
  EXPECT_EQ(back, want);
  EXPECT_EQ(bits(back[5]), 0u);  // +0, not -0
}

TEST(BlockFloat, Bfp4RoundsTiesToEvenAndClamps) {
  // Shared exponent 127, 21 dropped bits, tie 0x100000:
  //   1.25  : 0xA00000 -> kept 5, dropped 0           -> 5
  //   1.125 : 0x900000 -> kept 4, tie, even           -> 4 (1.0)
  //   1.375 : 0xB00000 -> kept 5, tie, odd            -> 6 (1.5)
  //   1.875 : 0xF00000 -> kept 7, tie, odd -> 8       -> saturates at 7 (1.75)
  //  -1.875 : as above with sign                      -> 0xF
  // Bytes: 0x45, 0x76, 0x0F.
  const Row row{1.25f, 1.125f, 1.375f, 1.875f, -1.875f};
  const PackedRow p = pack(DataType::BFLOAT4_B, row);
  EXPECT_EQ(p.exponent, 127);
  EXPECT_EQ(p.bytes[0], 0x45);
  EXPECT_EQ(p.bytes[1], 0x76);
  EXPECT_EQ(p.bytes[2], 0x0F);
  const Row back = unpack(DataType::BFLOAT4_B, p);
  EXPECT_EQ(back[0], 1.25f);
  EXPECT_EQ(back[1], 1.0f);
  EXPECT_EQ(back[2], 1.5f);
  EXPECT_EQ(back[3], 1.75f);
  EXPECT_EQ(back[4], -1.75f);
}

// ---- unpacking ----------------------------------------------------------------------------

// A literal model of TTNN's unpacker: shift the magnitude up until its top stored bit is
// set, counting shifts; drop that bit; exponent = shared - shifts; lanes whose exponent
// would go negative become 0; zero magnitudes give a signed zero.
uint32_t reference_decode(int bits_, uint32_t code, uint32_t shared) {
  const uint32_t mask = (1u << bits_) - 1;
  const uint32_t top = 1u << (bits_ - 1);
  const uint32_t sign = (code >> bits_) & 1u;
  uint32_t man = code & mask;
  if (man == 0) return sign << 31;
  uint32_t shifts = 0;
  while ((man & top) == 0) {
    man <<= 1;
    ++shifts;
  }
  if (shifts > shared) return 0;
  man = (man << 1) & mask;
  return (sign << 31) | ((shared - shifts) << 23) | (man << (23 - bits_));
}

TEST(BlockFloat, DecodeMatchesTheReferenceUnpackerForEveryCode) {
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    const int w = block_float_mantissa_bits(t);
    const uint32_t codes = 1u << (w + 1);
    for (uint32_t e = 0; e < 256; ++e) {
      for (uint32_t first = 0; first < codes; first += 16) {
        std::vector<uint8_t> bytes(static_cast<std::size_t>(bfp_row_bytes(t)), 0);
        for (uint32_t k = 0; k < 16; ++k) {
          const uint32_t code = (first + k) % codes;
          if (w == 7) {
            bytes[k] = static_cast<uint8_t>(code);
          } else {
            bytes[k / 2] = static_cast<uint8_t>(bytes[k / 2] | (code << (4 * (k % 2))));
          }
        }
        float out[16];
        decode_bfp_row(t, static_cast<uint8_t>(e), bytes.data(), out);
        for (uint32_t k = 0; k < 16; ++k) {
          const uint32_t code = (first + k) % codes;
          ASSERT_EQ(bits(out[k]), reference_decode(w, code, e))
              << to_string(t) << " exponent " << e << " code " << code;
        }
      }
    }
  }
}

TEST(BlockFloat, DecodeIsMTimesTwoToTheShiftedExponent) {
  // value = m * 2^(E - 127 - (bits - 1)) with the sign: bfp8 code 0x85 = -5, E = 130:
  // -5 * 2^(130 - 133) = -0.625. bfp4 code 0xB = -3 at E = 127: -3 * 2^-2 = -0.75.
  const uint8_t b8[16] = {0x85};
  float out[16];
  decode_bfp_row(DataType::BFLOAT8_B, 130, b8, out);
  EXPECT_EQ(out[0], -0.625f);
  const uint8_t b4[8] = {0xB0};  // element 1 in the high nibble
  decode_bfp_row(DataType::BFLOAT4_B, 127, b4, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], -0.75f);
}

// ---- tile bytes ---------------------------------------------------------------------------

// Tile element (i, j) -> face f, row r, column c. Row q = 16f + r gets exponent field
// 95 + q and every element of it the same exponent, with magnitude code 64 + c (bfp8) or
// 4 + c % 4 (bfp4), and a sign on column 3.
float tile_probe_value(DataType t, int i, int j) {
  const int f = (i / 16) * 2 + j / 16, r = i % 16, c = j % 16, q = f * 16 + r;
  const int w = block_float_mantissa_bits(t);
  const int m = w == 7 ? 64 + c : 4 + c % 4;
  const float v = std::ldexp(static_cast<float>(m), (95 + q - 127) - (w - 1));
  return c == 3 ? -v : v;
}

uint8_t tile_probe_code(DataType t, int c) {
  const int w = block_float_mantissa_bits(t);
  const int m = w == 7 ? 64 + c : 4 + c % 4;
  return static_cast<uint8_t>(c == 3 ? (m | (1 << w)) : m);
}

TEST(BlockFloat, TileByteLayout) {
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    std::vector<float> values(32 * 32);
    for (int i = 0; i < 32; ++i)
      for (int j = 0; j < 32; ++j) values[static_cast<std::size_t>(i * 32 + j)] = tile_probe_value(t, i, j);
    const Tensor tensor = from_float(values, TensorSpec{.name = "probe", .shape = {32, 32}, .dtype = t,
                                                         .layout = Layout::TILE});
    ASSERT_EQ(tensor.bytes(), t == DataType::BFLOAT8_B ? 1088 : 576);
    const auto* bytes = tensor.data<const uint8_t>();
    // 64 exponents first: face 0 rows 0..15, then faces 1, 2, 3.
    for (int q = 0; q < 64; ++q) {
      EXPECT_EQ(bytes[q], 95 + q) << to_string(t) << " exponent byte " << q;
      EXPECT_EQ(bfp_exponent_offset(q / 16, q % 16), q);
    }
    // Then each face row's codes in little-endian u32 words, element 0 lowest.
    const int per_word = t == DataType::BFLOAT8_B ? 4 : 8;
    const int code_bits = 32 / per_word;
    for (int q = 0; q < 64; ++q) {
      const int64_t at = bfp_mantissa_offset(t, q / 16, q % 16);
      EXPECT_EQ(at, 64 + q * (t == DataType::BFLOAT8_B ? 16 : 8));
      for (int word = 0; word < 16 / per_word; ++word) {
        uint32_t u = 0;
        std::memcpy(&u, bytes + at + 4 * word, 4);
        for (int k = 0; k < per_word; ++k) {
          const int c = word * per_word + k;
          EXPECT_EQ((u >> (code_bits * k)) & ((1u << code_bits) - 1), tile_probe_code(t, c))
              << to_string(t) << " row " << q << " column " << c;
        }
      }
    }
    // Every probe value is representable, so it decodes exactly.
    EXPECT_EQ(to_float(tensor), values) << to_string(t);
  }
}

TEST(BlockFloat, PackTilesMatchesRowEncoder) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> tiled(3 * 1024);
  for (float& v : tiled) v = dist(rng);
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    std::vector<uint8_t> bytes(static_cast<std::size_t>(3 * tile_bytes(t)));
    pack_bfp_tiles(t, tiled, bytes);
    for (int tile = 0; tile < 3; ++tile) {
      for (int q = 0; q < 64; ++q) {
        std::vector<uint8_t> row(static_cast<std::size_t>(bfp_row_bytes(t)));
        const uint8_t e = encode_bfp_row(t, tiled.data() + tile * 1024 + q * 16, row.data());
        const uint8_t* base = bytes.data() + tile * tile_bytes(t);
        ASSERT_EQ(base[bfp_exponent_offset(q / 16, q % 16)], e);
        ASSERT_EQ(0, std::memcmp(base + bfp_mantissa_offset(t, q / 16, q % 16), row.data(), row.size()));
      }
    }
    std::vector<float> back(tiled.size());
    unpack_bfp_tiles(t, bytes, back);
    std::vector<uint8_t> again(bytes.size());
    pack_bfp_tiles(t, back, again);
    EXPECT_EQ(again, bytes) << "decoded values re-pack to the same bytes (" << to_string(t) << ")";
    std::vector<uint8_t> short_bytes(bytes.size() - 1);
    EXPECT_THROW(pack_bfp_tiles(t, tiled, short_bytes), Error);
    EXPECT_THROW(unpack_bfp_tiles(t, short_bytes, back), Error);
  }
  std::vector<uint8_t> any(4096);
  EXPECT_THROW(pack_bfp_tiles(DataType::BFLOAT16, tiled, any), Error);
}

// ---- round trips --------------------------------------------------------------------------

// A spelled-out model of the packing rules, independent of the library's formula.
uint32_t reference_encode(int w, uint32_t u, uint32_t shared) {
  const uint32_t exp = (u >> 23) & 0xFF;
  if (exp == 0) return 0;
  uint32_t m = (u & 0x7FFFFF) | 0x800000;
  for (uint32_t d = exp; d < shared; ++d) m >>= 1;
  const uint32_t drop = 24 - w;
  const uint32_t dropped = m & ((1u << drop) - 1);
  const uint32_t tie = 1u << (drop - 1);
  uint32_t kept = m >> drop;
  if (dropped > tie || (dropped == tie && (kept & 1))) ++kept;
  kept = std::min(kept, (1u << w) - 1);
  return kept ? kept | ((u >> 31) << w) : 0;
}

TEST(BlockFloat, RandomRowsMatchTheSpelledOutRules) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<uint32_t> any_bits;
  std::uniform_int_distribution<int> spread(0, 40);
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    const int w = block_float_mantissa_bits(t);
    for (int trial = 0; trial < 2000; ++trial) {
      Row row{};
      const uint32_t top = 60 + static_cast<uint32_t>(spread(rng)) * 3;  // exponents near each other
      for (float& v : row) {
        uint32_t u = any_bits(rng);
        // Now and then an exponent field of 0: zeros and denormals.
        const uint32_t e = spread(rng) == 0 ? 0 : top - static_cast<uint32_t>(spread(rng));
        u = (u & 0x807FFFFFu) | (e << 23);
        v = std::bit_cast<float>(u);
      }
      const PackedRow p = pack(t, row);
      uint32_t shared = 0;
      for (float v : row) shared = std::max(shared, (bits(v) >> 23) & 0xFF);
      ASSERT_EQ(p.exponent, shared);
      for (int k = 0; k < 16; ++k) {
        const uint32_t code = w == 7 ? p.bytes[k] : (p.bytes[k / 2] >> (4 * (k % 2))) & 0xF;
        ASSERT_EQ(code, reference_encode(w, bits(row[k]), shared)) << to_string(t) << " element " << k;
        ASSERT_EQ(encode_bfp_element(t, row[k], p.exponent), code);
      }
    }
  }
}

TEST(BlockFloat, RoundTripErrorIsBoundedByTheSharedStep) {
  // Rounding is to half a step of 2^(E - 127 - (bits - 1)); saturation of the largest
  // value and the bits lost to the alignment shift keep the error below one step.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_int_distribution<int> scale(-20, 20);
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    const int w = block_float_mantissa_bits(t);
    for (int trial = 0; trial < 2000; ++trial) {
      Row row{};
      const int s = scale(rng);
      for (float& v : row) v = std::ldexp(dist(rng), s);
      const PackedRow p = pack(t, row);
      const Row back = unpack(t, p);
      const double step = std::ldexp(1.0, p.exponent - 127 - (w - 1));
      for (int k = 0; k < 16; ++k) {
        ASSERT_LE(std::abs(static_cast<double>(back[k]) - row[k]), step) << to_string(t);
        // Values that needed no saturation are within half a step plus the lost bits.
        if (std::abs(row[k]) < std::ldexp(1.0, p.exponent - 127)) {
          ASSERT_LE(std::abs(static_cast<double>(back[k]) - row[k]), 0.5 * step + std::ldexp(step, -(24 - w)) * 2)
              << to_string(t);
        }
      }
    }
  }
}

TEST(BlockFloat, RepresentableRowsRoundTripExactly) {
  // Any value m * 2^(E - 127 - (bits - 1)) with m < 2^bits and the row's largest value
  // at exponent E decodes back to itself.
  std::mt19937 rng(5);
  for (DataType t : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    const int w = block_float_mantissa_bits(t);
    std::uniform_int_distribution<int> mag(0, (1 << w) - 1);
    for (int trial = 0; trial < 500; ++trial) {
      const int e = 20 + trial % 200;
      Row row{};
      row[0] = std::ldexp(static_cast<float>(1 << (w - 1)), e - 127 - (w - 1));  // fixes the shared exponent
      for (int k = 1; k < 16; ++k) {
        const float v = std::ldexp(static_cast<float>(mag(rng)), e - 127 - (w - 1));
        row[k] = (k % 3 == 0) ? -v : v;
      }
      const PackedRow p = pack(t, row);
      ASSERT_EQ(p.exponent, e);
      const Row back = unpack(t, p);
      for (int k = 0; k < 16; ++k) ASSERT_EQ(back[k], row[k] == 0.0f ? 0.0f : row[k]) << to_string(t);
    }
  }
}

}  // namespace
}  // namespace ttt
