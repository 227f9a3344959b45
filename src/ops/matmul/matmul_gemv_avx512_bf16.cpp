// The GEMV of the AVX512-BF16 kernel set: bfloat16 and block-float weights against x that
// the op has rounded to bfloat16 (host_bf16_math), with vdpbf16ps.
//
// Tiled weights: each tile is turned into 32 pair vectors (matmul_bf16_pairs.hpp) as it
// is read, and every pair vector serves every row of x before the next is made: a tile is
// decoded once per group of up to 8 rows, whatever the rows. The shared exponents of block
// floats scale x (exact: a power of two times a bfloat16; BlockScaling), so their pairs
// are the bare signed magnitudes. Row-major bfloat16 weights: 16 k rows at a time, their
// words interleaved into pairs by two-source word permutes.
//
// The products are exact and accumulate in fp32: the values of the fp32 FMA kernels up to
// the order of the sums. vdpbf16ps treats bfloat16 denormals as zero: an x value below
// 2^-126 counts as zero, which changes a result by less than 2^-119 times the largest
// weight. A block-float tile that would scale some x of a row out of the normal range
// runs for that row on exact fp32 values (special_tile).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "ops/matmul/matmul_bf16_pairs.hpp"
#include "ops/matmul/matmul_generic.hpp"
#include "ops/matmul/matmul_internal.hpp"
#include "ops/matmul/matmul_kernels.hpp"

namespace ttt::ops::matmul_detail {
namespace {

constexpr int64_t kMaxRows = 64;   // row-major: rows of x one pass keeps x pairs for
constexpr int kPairsPerTile = 32;  // pair vectors of a 32 x 32 tile

TTT_AVX512_BF16 inline __m512 dot(__m512 acc, __m512i w, const int32_t* x_pair) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(_mm512_set1_epi32(*x_pair)), reinterpret_cast<__m512bh>(w));
}

// y[m][0..32) += the tile against kRows rows of x: xp[m * kPairsPerTile + g] is the x pair
// of pair vector g for row m. Each row's sums run in the same order whatever the rows
// (one accumulator per column half, from zero, added to y at the end: the tiles of one
// column do not wait on each other), so that a row's result does not depend on the batch.
template <int kRows, class Pairs>
TTT_AVX512_BF16 inline void tile_rows(const Pairs& pairs, const int32_t* xp, float* y, int64_t ldy) {
  constexpr int kChains = 1;
  __m512 acc[kRows][2][kChains];
  for (int m = 0; m < kRows; ++m) {
    for (int h = 0; h < 2; ++h) {
      for (int c = 0; c < kChains; ++c) acc[m][h][c] = _mm512_setzero_ps();
    }
  }
#pragma GCC unroll 32
  for (int s = 0; s < kPairsPerTile / Pairs::kPerStep; ++s) {
    __m512i w[Pairs::kPerStep];
    pairs.step(s, w);
    for (int i = 0; i < Pairs::kPerStep; ++i) {
      const int g = s * Pairs::kPerStep + i;
      const int h = (g / 8) % 2;  // faces 0 and 2 hold columns 0..15, faces 1 and 3 columns 16..31
      for (int m = 0; m < kRows; ++m) {
        __m512& a = acc[m][h][g % kChains];
        a = dot(a, w[i], xp + m * kPairsPerTile + g);
      }
    }
  }
  for (int m = 0; m < kRows; ++m) {
    for (int h = 0; h < 2; ++h) {
      __m512 sum = acc[m][h][0];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[m][h][c]);
      _mm512_storeu_ps(y + m * ldy + h * 16, _mm512_add_ps(_mm512_loadu_ps(y + m * ldy + h * 16), sum));
    }
  }
}

template <class Pairs>
TTT_AVX512_BF16 inline void tile_all_rows(const Pairs& pairs, const int32_t* xp, int64_t nrows, float* y, int64_t ldy) {
  int64_t m = 0;
  for (; m + 8 <= nrows; m += 8) tile_rows<8>(pairs, xp + m * kPairsPerTile, y + m * ldy, ldy);
  if (m + 4 <= nrows) tile_rows<4>(pairs, xp + m * kPairsPerTile, y + m * ldy, ldy), m += 4;
  if (m + 2 <= nrows) tile_rows<2>(pairs, xp + m * kPairsPerTile, y + m * ldy, ldy), m += 2;
  if (m < nrows) tile_rows<1>(pairs, xp + m * kPairsPerTile, y + m * ldy, ldy);
}

// y[m][0..32) += a bfloat4_b tile against kRows rows of x (Bfp4Nibbles; xp in nibble
// order). Per row and column half, the even and odd column lanes each sum the tile's steps
// in order, from zero; the folded sums are added to y. Few rows interleave the halves
// (more independent chains), many take them in turn (fewer live accumulators): the same
// sums either way.
template <int kRows>
TTT_AVX512_BF16 inline void bfp4_tile_rows(const Bfp4Nibbles& nb, const uint8_t* codes, const int32_t* xp, float* y,
                                           int64_t ldy) {
  constexpr int kHalves = kRows <= 2 ? 2 : 1;  // column halves summed at the same time
  const auto* xq = reinterpret_cast<const long long*>(xp);
  for (int h0 = 0; h0 < 2; h0 += kHalves) {
    __m512 ev[kRows][kHalves], od[kRows][kHalves];
    for (int m = 0; m < kRows; ++m)
      for (int h = 0; h < kHalves; ++h) ev[m][h] = od[m][h] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) {
      const int h = (s / 2) % 2;  // faces 0, 2: columns 0..15; faces 1, 3: 16..31
      if (kHalves == 1 && h != h0) continue;
      const int hh = kHalves == 1 ? 0 : h;
      __m512i o[4];
      nb.step(codes + s * 64, o);
      for (int m = 0; m < kRows; ++m) {
        const __m512i xa = _mm512_set1_epi64(xq[m * 16 + 2 * s]), xb = _mm512_set1_epi64(xq[m * 16 + 2 * s + 1]);
        ev[m][hh] = _mm512_dpbf16_ps(ev[m][hh], reinterpret_cast<__m512bh>(o[0]), reinterpret_cast<__m512bh>(xa));
        od[m][hh] = _mm512_dpbf16_ps(od[m][hh], reinterpret_cast<__m512bh>(o[1]), reinterpret_cast<__m512bh>(xa));
        ev[m][hh] = _mm512_dpbf16_ps(ev[m][hh], reinterpret_cast<__m512bh>(o[2]), reinterpret_cast<__m512bh>(xb));
        od[m][hh] = _mm512_dpbf16_ps(od[m][hh], reinterpret_cast<__m512bh>(o[3]), reinterpret_cast<__m512bh>(xb));
      }
    }
    for (int m = 0; m < kRows; ++m) {
      for (int h = 0; h < kHalves; ++h) {
        float* ym = y + m * ldy + (h0 + h) * 16;
        _mm512_storeu_ps(ym, _mm512_add_ps(_mm512_loadu_ps(ym), fold_nibble_sums(ev[m][h], od[m][h])));
      }
    }
  }
}

TTT_AVX512_BF16 inline void bfp4_tile_all_rows(const Bfp4Nibbles& nb, const uint8_t* tile, const int32_t* xp,
                                               int64_t nrows, float* y, int64_t ldy) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  int64_t m = 0;
  for (; m + 8 <= nrows; m += 8) bfp4_tile_rows<8>(nb, codes, xp + m * kPairsPerTile, y + m * ldy, ldy);
  if (m + 4 <= nrows) bfp4_tile_rows<4>(nb, codes, xp + m * kPairsPerTile, y + m * ldy, ldy), m += 4;
  if (m + 2 <= nrows) bfp4_tile_rows<2>(nb, codes, xp + m * kPairsPerTile, y + m * ldy, ldy), m += 2;
  if (m < nrows) bfp4_tile_rows<1>(nb, codes, xp + m * kPairsPerTile, y + m * ldy, ldy);
}

// Unscaled x pairs of K tile tk for every row: pair g = face * 8 + p takes x[k], x[k + 1]
// at k = tk * 32 + (face / 2) * 16 + 2p (x is exact in bfloat16: the conversion only packs).
TTT_AVX512_BF16 inline void tile_x_pairs(const float* x, int64_t kpad, int64_t nrows, int64_t tk, int32_t* xp) {
  for (int64_t m = 0; m < nrows; ++m) {
    const float* xm = x + m * kpad + tk * 32;
    for (int half = 0; half < 2; ++half) {  // faces 0, 1 (k 0..15), then 2, 3 (k 16..31)
      const __m512 v = _mm512_loadu_ps(xm + half * 16);
      _mm512_store_si512(xp + m * kPairsPerTile + half * 16, to_bf16_pairs(v, v));
    }
  }
}

// A block-float tile whose exponents leave the plain path (zeros, exponents below the
// magnitude width, inf / NaN): exact fp32 values and fp32 FMAs.
TTT_AVX512_BF16 void special_tile(const WeightView& w, int64_t tk, int64_t tn, const float* x, int64_t kpad,
                                  int64_t nrows, float* y, int64_t ldy) {
  alignas(64) float t[32 * 32];
  generic::decode_tile(w, tk, tn, t);
  for (int64_t m = 0; m < nrows; ++m) {
    const float* xm = x + m * kpad + tk * 32;
    __m512 lo = _mm512_loadu_ps(y + m * ldy), hi = _mm512_loadu_ps(y + m * ldy + 16);
    for (int k = 0; k < 32; ++k) {
      const __m512 xv = _mm512_set1_ps(xm[k]);
      lo = _mm512_fmadd_ps(_mm512_load_ps(t + k * 32), xv, lo);
      hi = _mm512_fmadd_ps(_mm512_load_ps(t + k * 32 + 16), xv, hi);
    }
    _mm512_storeu_ps(y + m * ldy, lo);
    _mm512_storeu_ps(y + m * ldy + 16, hi);
  }
}

// y[m][0..32) += a block-float tile against nrows rows of scaled x pairs.
template <class Pairs>
TTT_AVX512_BF16 inline void tile_rows_scaled(const Bfp4Nibbles& nb, const uint8_t* tile, const int32_t* xp,
                                             int64_t nrows, float* y, int64_t ldy) {
  if constexpr (std::is_same_v<Pairs, Bfp4Nibbles>) {
    bfp4_tile_all_rows(nb, tile, xp, nrows, y, ldy);
  } else {
    tile_all_rows(Pairs(tile), xp, nrows, y, ldy);
  }
}

// Tiled weights stream `streams` K tiles at a time: for each tile column j, tiles (tk, j)
// .. (tk + streams - 1, j) in turn. Weights in one [K, N] block: kStreams rows of tiles
// at a time, each a sequential stream, which the memory system serves faster than one.
// Weights in column shards with the thread's columns one shard (run_gemv splits by
// shards) and few rows of x: one K tile at a time, so that the thread reads its shard
// from start to end; with more rows, about kPassBytes of K tiles per column (2 bfloat16
// tiles, 4 block-float ones), which share each load and store of y. Eight rows of x over
// bfloat16 tiles ran at 0.62 of the read bandwidth with 2 and 0.54 with 4; bfloat8_b
// and bfloat4_b at 0.37-0.38 and 0.25 with 4, 0.35 and 0.21 with 2.
// The tiles are prefetched into L2 kPrefetchBytes ahead (past the end of a row: on in
// the rows that follow). A row's sums run in the order tk = 0, 1, 2, ... for every
// column whatever the streams.
constexpr int kStreams = 4;
constexpr int64_t kSingleStreamRows = 2;
constexpr int64_t kPassBytes = 4096;
constexpr int64_t kPrefetchBytes = 16384;
constexpr int64_t kRowsPerPass = 32;  // rows of x one pass keeps x pairs for

inline void prefetch_l2(const WeightView& w, int64_t tk, int64_t tn0, int64_t tiles, int64_t j, int streams) {
  const int64_t ahead = std::max<int64_t>(1, kPrefetchBytes / w.tile_bytes);  // tiles
  const int64_t kk = tk + (j + ahead) / tiles * streams, jj = (j + ahead) % tiles;
  if (kk >= w.kt) return;
  const auto* p = reinterpret_cast<const char*>(w.tile(kk, tn0 + jj));
  for (int64_t off = 0; off < w.tile_bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T1);
}

template <class Pairs>
TTT_AVX512_BF16 void gemv_tiles(const GemvArgs& a) {
  constexpr int kBits = Pairs::kBits;
  constexpr bool kNibbles = std::is_same_v<Pairs, Bfp4Nibbles>;
  using Scaling = BlockScaling<kBits>;
  const WeightView& w = *a.w;
  const int64_t tiles = (a.cols + 31) / 32, tn0 = a.col0 / 32;
  // x pairs of each stream's K tile (block floats: Scaling's base), and of one tile scaled.
  alignas(64) int32_t xp[kStreams][kRowsPerPass * kPairsPerTile];
  alignas(64) int32_t scaled[kRowsPerPass * kPairsPerTile];
  __mmask32 normal[kStreams][kRowsPerPass * 2];
  const Bfp4Nibbles nibbles;
  const Scaling scaling(kNibbles);
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowsPerPass) {
    const int64_t nrows = std::min(kRowsPerPass, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    // Whether a tile takes the scaled path depends on each row's own x only, so that a row's
    // result does not depend on the rows beside it; tiles in every row's range go at once.
    typename Scaling::Range ranges[kRowsPerPass];
    __m512i all_lo = _mm512_setzero_si512(), all_hi = _mm512_setzero_si512();
    if constexpr (kBits > 0) {
      int lo = 0, hi = 255;
      for (int64_t m = 0; m < nrows; ++m) {
        ranges[m] = Scaling::row_range(x + m * a.kpad, a.kpad);
        lo = std::max(lo, ranges[m].lo), hi = std::min(hi, ranges[m].hi);
      }
      all_lo = Scaling::bytes(lo), all_hi = Scaling::bytes(hi);
    }
    const bool one_shard = w.shard_nt > 0 && tn0 / w.shard_nt == (tn0 + tiles - 1) / w.shard_nt;
    const int group = !one_shard                   ? kStreams
                      : nrows <= kSingleStreamRows ? 1
                                                   : static_cast<int>(std::min<int64_t>(
                                                         kStreams, (kPassBytes + w.tile_bytes - 1) / w.tile_bytes));
    for (int64_t tk0 = 0; tk0 < w.kt; tk0 += group) {
      const int streams = static_cast<int>(std::min<int64_t>(group, w.kt - tk0));
      for (int s = 0; s < streams; ++s) {
        if constexpr (kBits == 0) {
          tile_x_pairs(x, a.kpad, nrows, tk0 + s, xp[s]);
        } else {
          Scaling::base_pairs(x, a.kpad, nrows, tk0 + s, kNibbles, xp[s], normal[s]);
        }
      }
      for (int64_t j = 0; j < tiles; ++j) {
        for (int s = 0; s < streams; ++s) {
          const int64_t tk = tk0 + s;
          const uint8_t* tile = w.tile(tk, tn0 + j);
          prefetch_l2(w, tk, tn0, tiles, j, group);
          if constexpr (kBits == 0) {
            tile_all_rows(Pairs(tile), xp[s], nrows, y0 + j * 32, a.ldy);
          } else {
            if (Scaling::plain(tile, all_lo, all_hi)) {
              scaling.scale(tile, xp[s], normal[s], nrows, scaled);
              tile_rows_scaled<Pairs>(nibbles, tile, scaled, nrows, y0 + j * 32, a.ldy);
              continue;
            }
            for (int64_t m = 0; m < nrows; ++m) {  // row by row: the scaled path or exact fp32
              float* ym = y0 + m * a.ldy + j * 32;
              if (Scaling::plain(tile, Scaling::bytes(ranges[m].lo), Scaling::bytes(ranges[m].hi))) {
                scaling.scale(tile, xp[s] + m * kPairsPerTile, normal[s] + 2 * m, 1, scaled);
                tile_rows_scaled<Pairs>(nibbles, tile, scaled, 1, ym, a.ldy);
              } else {
                special_tile(w, tk, tn0 + j, x + m * a.kpad, a.kpad, 1, ym, a.ldy);
              }
            }
          }
        }
      }
    }
  }
}

// Weights in column panels ([n / 32, k, 32], shard_nt 1): the thread's panels lie one
// after another, each its K tiles in order, so one pass streams them start to end. The x
// pairs of every K tile are made once per pass (block floats: Scaling's base); y of the
// panel stays in L1 over its K tiles. A column sums its tiles in the order tk = 0, 1, ...
// as gemv_tiles does: the results are the same, bit for bit.
template <class Pairs>
TTT_AVX512_BF16 void gemv_panels(const GemvArgs& a) {
  constexpr int kBits = Pairs::kBits;
  constexpr bool kNibbles = std::is_same_v<Pairs, Bfp4Nibbles>;
  using Scaling = BlockScaling<kBits>;
  const WeightView& w = *a.w;
  const int64_t tiles = (a.cols + 31) / 32, tn0 = a.col0 / 32;
  const int64_t pass_rows = std::min(kRowsPerPass, a.rows);
  // x pairs (32 per row and K tile), then the normal-word masks (2 per row and K tile).
  const int64_t pair_words = w.kt * pass_rows * kPairsPerTile, mask_words = w.kt * pass_rows * 2;
  float* buf = scratch(static_cast<std::size_t>(pair_words + mask_words + 16), kSlotThread2).data();
  auto* xp_all = reinterpret_cast<int32_t*>((reinterpret_cast<std::uintptr_t>(buf) + 63) & ~std::uintptr_t{63});
  auto* normal_all = reinterpret_cast<__mmask32*>(xp_all + pair_words);
  alignas(64) int32_t scaled[kRowsPerPass * kPairsPerTile];
  const Bfp4Nibbles nibbles;
  const Scaling scaling(kNibbles);
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowsPerPass) {
    const int64_t nrows = std::min(kRowsPerPass, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    typename Scaling::Range ranges[kRowsPerPass];
    __m512i all_lo = _mm512_setzero_si512(), all_hi = _mm512_setzero_si512();
    if constexpr (kBits > 0) {
      int lo = 0, hi = 255;
      for (int64_t m = 0; m < nrows; ++m) {
        ranges[m] = Scaling::row_range(x + m * a.kpad, a.kpad);
        lo = std::max(lo, ranges[m].lo), hi = std::min(hi, ranges[m].hi);
      }
      all_lo = Scaling::bytes(lo), all_hi = Scaling::bytes(hi);
    }
    for (int64_t tk = 0; tk < w.kt; ++tk) {
      int32_t* xp = xp_all + tk * nrows * kPairsPerTile;
      if constexpr (kBits == 0) {
        tile_x_pairs(x, a.kpad, nrows, tk, xp);
      } else {
        Scaling::base_pairs(x, a.kpad, nrows, tk, kNibbles, xp, normal_all + tk * nrows * 2);
      }
    }
    for (int64_t j = 0; j < tiles; ++j) {
      float* y = y0 + j * 32;
      for (int64_t tk = 0; tk < w.kt; ++tk) {
        const uint8_t* tile = w.tile(tk, tn0 + j);
        const int32_t* xp = xp_all + tk * nrows * kPairsPerTile;
        if constexpr (kBits == 0) {
          tile_all_rows(Pairs(tile), xp, nrows, y, a.ldy);
        } else {
          const __mmask32* normal = normal_all + tk * nrows * 2;
          if (Scaling::plain(tile, all_lo, all_hi)) {
            scaling.scale(tile, xp, normal, nrows, scaled);
            tile_rows_scaled<Pairs>(nibbles, tile, scaled, nrows, y, a.ldy);
            continue;
          }
          for (int64_t m = 0; m < nrows; ++m) {  // row by row: the scaled path or exact fp32
            float* ym = y + m * a.ldy;
            if (Scaling::plain(tile, Scaling::bytes(ranges[m].lo), Scaling::bytes(ranges[m].hi))) {
              scaling.scale(tile, xp + m * kPairsPerTile, normal + 2 * m, 1, scaled);
              tile_rows_scaled<Pairs>(nibbles, tile, scaled, 1, ym, a.ldy);
            } else {
              special_tile(w, tk, tn0 + j, x + m * a.kpad, a.kpad, 1, ym, a.ldy);
            }
          }
        }
      }
    }
  }
}

// Row-major bfloat16: kRmDepth k rows (kRmDepth / 2 pairs) by 32 columns per step; y stays
// in memory (L1 / L2 for one thread's columns).
constexpr int kRmDepth = 16;
constexpr int kRmPairs = kRmDepth / 2;

// Two accumulators per column half for every row (the same order whatever the rows).
template <int kRows>
TTT_AVX512_BF16 inline void rm_step_rows(const __m512i (&w)[kRmPairs][2], const int32_t* xp, float* y, int64_t ldy) {
  constexpr int kChains = 2;
  for (int m = 0; m < kRows; ++m) {
    float* ym = y + m * ldy;
    __m512 acc[2][kChains];
    acc[0][0] = _mm512_loadu_ps(ym);
    acc[1][0] = _mm512_loadu_ps(ym + 16);
    for (int c = 1; c < kChains; ++c) acc[0][c] = acc[1][c] = _mm512_setzero_ps();
    for (int p = 0; p < kRmPairs; ++p) {
      for (int h = 0; h < 2; ++h) acc[h][p % kChains] = dot(acc[h][p % kChains], w[p][h], xp + m * kRmPairs + p);
    }
    for (int h = 0; h < 2; ++h) {
      __m512 sum = acc[h][0];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[h][c]);
      _mm512_storeu_ps(ym + h * 16, sum);
    }
  }
}

TTT_AVX512_BF16 void gemv_bf16_row_major(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t cols = std::min(a.cols, w.n - a.col0);
  const int64_t steps = (cols + 31) / 32;
  const __m512i first = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                         37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i second = _mm512_set_epi16(63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24, 55, 23, 54,
                                          22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
  const auto* base = reinterpret_cast<const uint16_t*>(w.data);
  alignas(64) int32_t xp[kMaxRows * kRmPairs];
  for (int64_t r0 = 0; r0 < a.rows; r0 += kMaxRows) {
    const int64_t nrows = std::min(kMaxRows, a.rows - r0);
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + steps * 32, 0.0f);
    for (int64_t k0 = 0; k0 < w.k; k0 += kRmDepth) {
      // x pairs of these k (x is zero from K to kpad, a multiple of 32).
      for (int64_t m = 0; m < nrows; ++m) {
        const float* xm = a.x + (r0 + m) * a.kpad + k0;
        _mm256_store_si256(reinterpret_cast<__m256i*>(xp + m * kRmPairs), to_bf16_pairs(_mm512_loadu_ps(xm)));
      }
      const int64_t kb = std::min<int64_t>(kRmDepth, w.k - k0);
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t c = s * 32;
        const __mmask32 mask = cols - c >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << (cols - c)) - 1);
        const uint16_t* p = base + k0 * w.n + a.col0 + c;
        __m512i pairs[kRmPairs][2];
        for (int q = 0; q < kRmPairs; ++q) {
          // Rows past K are zero (x is zero there too).
          const __m512i even = 2 * q < kb ? _mm512_maskz_loadu_epi16(mask, p + 2 * q * w.n) : _mm512_setzero_si512();
          const __m512i odd =
              2 * q + 1 < kb ? _mm512_maskz_loadu_epi16(mask, p + (2 * q + 1) * w.n) : _mm512_setzero_si512();
          pairs[q][0] = _mm512_permutex2var_epi16(even, first, odd);
          pairs[q][1] = _mm512_permutex2var_epi16(even, second, odd);
        }
        float* y = y0 + c;
        int64_t m = 0;
        for (; m + 4 <= nrows; m += 4) rm_step_rows<4>(pairs, xp + m * kRmPairs, y + m * a.ldy, a.ldy);
        if (m + 2 <= nrows) rm_step_rows<2>(pairs, xp + m * kRmPairs, y + m * a.ldy, a.ldy), m += 2;
        if (m < nrows) rm_step_rows<1>(pairs, xp + m * kRmPairs, y + m * a.ldy, a.ldy);
      }
    }
  }
}

}  // namespace

// The GEMV of the AVX512-BF16 set; fp32 weights go to the AVX-512 one.
TTT_AVX512_BF16 void gemv_avx512_bf16(const GemvArgs& a) {
  const WeightView& w = *a.w;
  if (w.layout == Layout::TILE) {
    const bool panels = w.shard_nt == 1;
    switch (w.dtype) {
      case DataType::BFLOAT16: panels ? gemv_panels<Bf16Pairs>(a) : gemv_tiles<Bf16Pairs>(a); return;
      case DataType::BFLOAT8_B: panels ? gemv_panels<Bfp8Pairs>(a) : gemv_tiles<Bfp8Pairs>(a); return;
      case DataType::BFLOAT4_B: panels ? gemv_panels<Bfp4Nibbles>(a) : gemv_tiles<Bfp4Nibbles>(a); return;
      default: break;
    }
  } else if (w.dtype == DataType::BFLOAT16) {
    gemv_bf16_row_major(a);
    return;
  }
  avx512_kernels().gemv(a);
}

}  // namespace ttt::ops::matmul_detail
