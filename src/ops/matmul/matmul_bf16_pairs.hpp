// Tiles of weights as bfloat16 pairs for vdpbf16ps, straight from their stored bytes.
// Internal to src/ops/matmul; include only from files compiled for AVX512-BF16.
//
// A pair vector holds 16 columns n of two consecutive k: 32-bit lane n is
// w[k][n] | w[k + 1][n] << 16, as vdpbf16ps reads it. A 32 x 32 tile gives 32 of them,
// numbered g = face * 8 + p: face f (rows (f / 2) * 16.., columns (f % 2) * 16..), face
// rows 2p and 2p + 1. Each decoder makes them kPerStep at a time, in storage order, step s
// giving pairs s * kPerStep .. s * kPerStep + kPerStep - 1.
//
// The values are exact: bfloat16 as stored; block floats as the bfloat16 of +-m, the sign
// and magnitude of a code (an integer below 128 for bfloat8_b, 8 for bfloat4_b). The
// shared exponent is left out: the caller scales x by 2^(E - 127 - (bits - 1)) instead
// (BlockScaling; exact, a power of two), which costs per row of x rather than per pair.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/matmul/matmul_avx512_common.hpp"
#include "ttt/formats.hpp"

#define TTT_AVX512_BF16                                                                                    \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni,avx512vbmi,avx2,fma," \
                        "f16c")))

namespace ttt::ops::matmul_detail {

// bfloat16 tiles: a pair is 64 consecutive bytes (face rows 2p and 2p + 1); one word
// permute interleaves them.
struct Bf16Pairs {
  static constexpr int kPerStep = 1;
  static constexpr int kChains = 1;  // accumulators per column half (GEMV tile_rows)
  static constexpr int kBits = 0;
  const uint8_t* tile;
  __m512i interleave;
  TTT_AVX512_BF16 explicit Bf16Pairs(const uint8_t* t) : tile(t) {
    alignas(64) uint16_t idx[32];
    for (int n = 0; n < 16; ++n) idx[2 * n] = static_cast<uint16_t>(n), idx[2 * n + 1] = static_cast<uint16_t>(16 + n);
    interleave = _mm512_load_si512(idx);
  }
  TTT_AVX512_BF16 void step(int s, __m512i* out) const {
    out[0] = _mm512_permutexvar_epi16(interleave, _mm512_loadu_si512(tile + s * 64));
  }
};

// Byte tables of bfloat16(+-m): low bytes and high bytes, for block-float magnitudes.
struct Bf16ByteTables {
  alignas(64) uint8_t lo[128], hi[128];
  Bf16ByteTables() {
    for (int m = 0; m < 128; ++m) {
      const uint16_t b = float_to_bfloat16(static_cast<float>(m));
      lo[m] = static_cast<uint8_t>(b & 0xFF);
      hi[m] = static_cast<uint8_t>(b >> 8);
    }
  }
};
inline const Bf16ByteTables& bf16_byte_tables() {
  static const Bf16ByteTables t;
  return t;
}

// bfloat8_b: a 64-byte chunk is 4 face rows (two pairs). Two 128-entry byte lookups
// (vpermi2b reads 7 index bits: the magnitude) give each code's bfloat16 low and high
// bytes, the sign bit goes into the high byte, and two two-source byte permutes put the
// words of rows 2p and 2p + 1 side by side.
struct Bfp8Pairs {
  static constexpr int kPerStep = 2;
  static constexpr int kChains = 2;
  static constexpr int kBits = 7;
  const uint8_t* codes;
  __m512i lo0, lo1, hi0, hi1, sign, arrange0, arrange1;
  TTT_AVX512_BF16 explicit Bfp8Pairs(const uint8_t* tile) : codes(tile + kBfpExponentBytes) {
    const Bf16ByteTables& t = bf16_byte_tables();
    lo0 = _mm512_load_si512(t.lo), lo1 = _mm512_load_si512(t.lo + 64);
    hi0 = _mm512_load_si512(t.hi), hi1 = _mm512_load_si512(t.hi + 64);
    sign = _mm512_set1_epi8(static_cast<char>(0x80));
    alignas(64) uint8_t idx[2][64];
    for (int i = 0; i < 2; ++i) {
      for (int b = 0; b < 64; ++b) {
        const int n = b / 4, row = 2 * i + (b / 2) % 2, high = b % 2;
        idx[i][b] = static_cast<uint8_t>(high << 6 | (row * 16 + n));
      }
    }
    arrange0 = _mm512_load_si512(idx[0]);
    arrange1 = _mm512_load_si512(idx[1]);
  }
  TTT_AVX512_BF16 void step(int s, __m512i* out) const {
    const __m512i c = _mm512_loadu_si512(codes + s * 64);
    const __m512i lo = _mm512_permutex2var_epi8(lo0, c, lo1);
    // high byte | (code & 0x80): A | (B & C) is 0xF8.
    const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(hi0, c, hi1), c, sign, 0xF8);
    out[0] = _mm512_permutex2var_epi8(lo, arrange0, hi);
    out[1] = _mm512_permutex2var_epi8(lo, arrange1, hi);
  }
};

// bfloat4_b with one byte permute per 4 pair vectors ("nibble words"). A 64-byte step
// holds pairs i = 0..3 (16 bytes each: face rows 2p and 2p + 1 of 8 bytes, column n in
// byte n / 2, nibble n % 2). The permute builds 32 words in which word (lane L, half r)
// holds byte q = L / 2 of rows r of pairs i0, i1 (even L) or i2, i3 (odd L), low byte
// first; its four nibbles are then the codes of (i0 | i2, column 2q), (i0 | i2, 2q + 1),
// (i1 | i3, 2q) and (i1 | i3, 2q + 1). Shifting the words by 0, 4, 8, 12 bits and looking
// the low nibble up (vpermw reads 5 index bits: the table holds its 16 words twice) gives
// four vectors whose lanes are pairs of rows 2p, 2p + 1 of one column. Even lanes take the
// x pair of i0 (i1), odd lanes that of i2 (i3): both come from one 64-bit broadcast. Each
// lane sums the column 2q (2q + 1), so adjacent lanes fold into one column at the end.
struct Bfp4Nibbles {
  static constexpr int kBits = 3;
  __m512i table, arrange;
  TTT_AVX512_BF16 Bfp4Nibbles() {
    alignas(64) uint16_t t[32];
    for (int v = 0; v < 32; ++v) t[v] = float_to_bfloat16(static_cast<float>(v & 7) * ((v & 8) ? -1.0f : 1.0f));
    table = _mm512_load_si512(t);
    alignas(64) uint8_t idx[64];
    for (int b = 0; b < 64; ++b) {
      const int word = b / 2, high = b % 2, lane = word / 2, r = word % 2, q = lane / 2;
      const int i = (lane % 2) * 2 + high;
      idx[b] = static_cast<uint8_t>(i * 16 + r * 8 + q);
    }
    arrange = _mm512_load_si512(idx);
  }
  // The four pair vectors of 64 code bytes: o[0], o[1] pair with x qword [i0, i2] (even,
  // odd columns), o[2], o[3] with [i1, i3].
  TTT_AVX512_BF16 void step(const uint8_t* p, __m512i (&o)[4]) const {
    const __m512i v = _mm512_permutexvar_epi8(arrange, _mm512_loadu_si512(p));
    o[0] = _mm512_permutexvar_epi16(v, table);
    o[1] = _mm512_permutexvar_epi16(_mm512_srli_epi16(v, 4), table);
    o[2] = _mm512_permutexvar_epi16(_mm512_srli_epi16(v, 8), table);
    o[3] = _mm512_permutexvar_epi16(_mm512_srli_epi16(v, 12), table);
  }
};

// Folds the even-column and odd-column sums of Bfp4Nibbles (lanes 2q and 2q + 1 both
// hold columns 2q, 2q + 1) into 16 columns in order.
TTT_AVX512_BF16 inline __m512 fold_nibble_sums(__m512 even, __m512 odd) {
  const __m512 t = _mm512_mask_blend_ps(0xAAAA, even, odd);  // even[2q], odd[2q + 1]
  const __m512 u = _mm512_mask_blend_ps(0xAAAA, odd, even);  // odd[2q], even[2q + 1]
  return _mm512_add_ps(t, _mm512_permute_ps(u, 0xB1));
}

// 16 fp32 values exact in bfloat16 (or to be rounded to nearest even) -> 8 pairs.
TTT_AVX512_BF16 inline __m256i to_bf16_pairs(__m512 v) { return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)); }
// 2 x 16 of them -> 16 pairs, lo's first.
TTT_AVX512_BF16 inline __m512i to_bf16_pairs(__m512 lo, __m512 hi) {
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Block-float scaling of x in bfloat16. x times 2^(E - 127 - (bits - 1)) is x with
// E - kBias added to its exponent field: one masked word add per 32 x values, exact while
// the sum stays a normal exponent (1..254). Tiles whose exponents could leave that range
// for some x of the pass, or that are below the magnitude width or 255, take the exact
// fp32 path instead (special_tile). Zero and denormal x stay zero: vdpbf16ps reads
// bfloat16 denormals as zero in any case.
template <int kBits>
struct BlockScaling {
  static constexpr int kBias = 126 + kBits;
  // The exponents E a tile may hold to be scaled this way for a row of x: lo <= E <= hi.
  struct Range {
    int lo = kBits, hi = 254;
  };
  __m512i place[2];  // exponent bytes -> low bytes of the words of x-pair half h
  // nibble_order: x pairs in Bfp4Nibbles order (each group of four pairs g0, g2, g1, g3).
  TTT_AVX512_BF16 explicit BlockScaling(bool nibble_order) {
    for (int h = 0; h < 2; ++h) {
      alignas(64) uint8_t idx[64];
      for (int q = 0; q < 16; ++q) {  // dword q of the half holds pair src
        static constexpr int kNibble[4] = {0, 2, 1, 3};
        const int src = nibble_order ? (q / 4) * 4 + kNibble[q % 4] : q;
        for (int i = 0; i < 2; ++i) {  // words 2q, 2q + 1: k = 2 src, 2 src + 1 of the half's face rows
          idx[4 * q + 2 * i] = static_cast<uint8_t>(h * 32 + 2 * src + i);
          idx[4 * q + 2 * i + 1] = 0;
        }
      }
      place[h] = _mm512_load_si512(idx);
    }
  }

  // The range for one row of x (kpad values, already exact in bfloat16).
  TTT_AVX512_BF16 static Range row_range(const float* x, int64_t kpad) {
    __m512i emin = _mm512_set1_epi32(255), emax = _mm512_setzero_si512();
    const __m512i field = _mm512_set1_epi32(0xFF);
    for (int64_t k = 0; k < kpad; k += 16) {
      const __m512i e = _mm512_and_si512(_mm512_srli_epi32(_mm512_loadu_si512(x + k), 23), field);
      const __mmask16 normal = _mm512_test_epi32_mask(e, field);
      emin = _mm512_mask_min_epu32(emin, normal, emin, e);
      emax = _mm512_mask_max_epu32(emax, normal, emax, e);
    }
    const int lo_e = static_cast<int>(_mm512_reduce_min_epu32(emin));
    const int hi_e = static_cast<int>(_mm512_reduce_max_epu32(emax));
    if (hi_e == 255) return {255, 0};  // inf or NaN in x: every tile on the exact path
    return {std::max(kBits, 1 + kBias - lo_e), std::min(254, 254 + kBias - hi_e)};
  }

  // Whether every exponent of a tile lies in [lo, hi] (byte vectors).
  TTT_AVX512_BF16 static bool plain(const uint8_t* tile, __m512i lo, __m512i hi) {
    const __m512i e = _mm512_loadu_si512(tile);
    return (_mm512_cmplt_epu8_mask(e, lo) | _mm512_cmpgt_epu8_mask(e, hi)) == 0;
  }
  TTT_AVX512_BF16 static __m512i bytes(int v) { return _mm512_set1_epi8(static_cast<char>(std::clamp(v, 0, 255))); }

  // x pairs of K tile tk, unscaled, less kBias in the exponent field (base), and which of
  // their words are normal numbers (normal); 32 pairs per row: half h (k 0..15 for faces 0,
  // 1, then k 16..31 for faces 2, 3) in pairs h * 16...
  TTT_AVX512_BF16 static void base_pairs(const float* x, int64_t kpad, int64_t nrows, int64_t tk, bool nibble_order,
                                         int32_t* base, __mmask32* normal) {
    const __m512i bias = _mm512_set1_epi16(static_cast<short>(kBias << 7)), field = _mm512_set1_epi16(0x7F80);
    for (int64_t m = 0; m < nrows; ++m) {
      for (int h = 0; h < 2; ++h) {
        const __m512 v = _mm512_loadu_ps(x + m * kpad + tk * 32 + h * 16);
        __m512i pairs = to_bf16_pairs(v, v);  // the same k for the two faces of the half
        if (nibble_order) pairs = _mm512_shuffle_epi32(pairs, static_cast<_MM_PERM_ENUM>(0xD8));
        normal[m * 2 + h] = _mm512_test_epi16_mask(pairs, field);
        _mm512_store_si512(base + m * 32 + h * 16, _mm512_sub_epi16(pairs, bias));
      }
    }
  }

  // The scaled x pairs of a tile for nrows rows.
  TTT_AVX512_BF16 void scale(const uint8_t* tile, const int32_t* base, const __mmask32* normal, int64_t nrows,
                             int32_t* out) const {
    const __m512i e = _mm512_loadu_si512(tile);
    const __mmask64 low_bytes = 0x5555555555555555ull;
    const __m512i d0 = _mm512_slli_epi16(_mm512_maskz_permutexvar_epi8(low_bytes, place[0], e), 7);
    const __m512i d1 = _mm512_slli_epi16(_mm512_maskz_permutexvar_epi8(low_bytes, place[1], e), 7);
    for (int64_t m = 0; m < nrows; ++m) {
      _mm512_store_si512(out + m * 32, _mm512_maskz_add_epi16(normal[2 * m], _mm512_load_si512(base + m * 32), d0));
      _mm512_store_si512(out + m * 32 + 16,
                         _mm512_maskz_add_epi16(normal[2 * m + 1], _mm512_load_si512(base + m * 32 + 16), d1));
    }
  }
};

}  // namespace ttt::ops::matmul_detail
