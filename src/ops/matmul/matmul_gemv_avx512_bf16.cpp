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
#include <cstdint>
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
// (Pairs::kChains accumulators per column half, pair g in accumulator g % kChains, each
// from zero, summed in order and added to y at the end: the tiles of one column do not
// wait on each other), so that a row's result does not depend on the batch.
template <int kRows, class Pairs>
TTT_AVX512_BF16 inline void tile_rows(const Pairs& pairs, const int32_t* xp, float* y, int64_t ldy) {
  constexpr int kChains = Pairs::kChains;
  // Column halves summed at the same time: both while the accumulators fit in 16
  // registers, else one after the other (each decodes only its own pairs).
  constexpr int kHalves = kRows * 2 * kChains <= 16 ? 2 : 1;
  for (int h0 = 0; h0 < 2; h0 += kHalves) {
    __m512 acc[kRows][kHalves][kChains];
    for (int m = 0; m < kRows; ++m) {
      for (int h = 0; h < kHalves; ++h) {
        for (int c = 0; c < kChains; ++c) acc[m][h][c] = _mm512_setzero_ps();
      }
    }
#pragma GCC unroll 32
    for (int s = 0; s < kPairsPerTile / Pairs::kPerStep; ++s) {
      // faces 0 and 2 hold columns 0..15, faces 1 and 3 columns 16..31
      const int h = (s * Pairs::kPerStep / 8) % 2;
      if (kHalves == 1 && h != h0) continue;
      const int hh = kHalves == 1 ? 0 : h;
      __m512i w[Pairs::kPerStep];
      pairs.step(s, w);
      for (int i = 0; i < Pairs::kPerStep; ++i) {
        const int g = s * Pairs::kPerStep + i;
        for (int m = 0; m < kRows; ++m) {
          __m512& a = acc[m][hh][g % kChains];
          a = dot(a, w[i], xp + m * kPairsPerTile + g);
        }
      }
    }
    for (int m = 0; m < kRows; ++m) {
      for (int h = 0; h < kHalves; ++h) {
        __m512 sum = acc[m][h][0];
        for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[m][h][c]);
        float* ym = y + m * ldy + (h0 + h) * 16;
        _mm512_storeu_ps(ym, _mm512_add_ps(_mm512_loadu_ps(ym), sum));
      }
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

// A bfloat4_b tile against kRows rows of x (Bfp4Nibbles; xp in nibble order), added to
// the rows' unfolded sums u (kUnfolded floats per tile column and row: per column half,
// the even-column lanes, then the odd ones). Per row and column half, the even and odd
// lanes each sum the tile's steps in order, from zero, then add to u; fold_unfolded turns
// u into columns once, after the last K tile. Few rows interleave the halves (more
// independent chains), many take them in turn (fewer live accumulators): the same sums
// either way.
constexpr int64_t kUnfolded = 64;

template <int kRows>
TTT_AVX512_BF16 inline void bfp4_tile_rows(const Bfp4Nibbles& nb, const uint8_t* codes, const int32_t* xp, float* u,
                                           int64_t ldu) {
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
        float* um = u + m * ldu + (h0 + h) * 32;
        _mm512_storeu_ps(um, _mm512_add_ps(_mm512_loadu_ps(um), ev[m][h]));
        _mm512_storeu_ps(um + 16, _mm512_add_ps(_mm512_loadu_ps(um + 16), od[m][h]));
      }
    }
  }
}

TTT_AVX512_BF16 inline void bfp4_tile_all_rows(const Bfp4Nibbles& nb, const uint8_t* tile, const int32_t* xp,
                                               int64_t nrows, float* u, int64_t ldu) {
  const uint8_t* codes = tile + kBfpExponentBytes;
  int64_t m = 0;
  for (; m + 8 <= nrows; m += 8) bfp4_tile_rows<8>(nb, codes, xp + m * kPairsPerTile, u + m * ldu, ldu);
  if (m + 4 <= nrows) bfp4_tile_rows<4>(nb, codes, xp + m * kPairsPerTile, u + m * ldu, ldu), m += 4;
  if (m + 2 <= nrows) bfp4_tile_rows<2>(nb, codes, xp + m * kPairsPerTile, u + m * ldu, ldu), m += 2;
  if (m < nrows) bfp4_tile_rows<1>(nb, codes, xp + m * kPairsPerTile, u + m * ldu, ldu);
}

// y[m][j * 32 ..] += the folded unfolded sums of tile columns j = 0 .. tiles - 1.
TTT_AVX512_BF16 inline void fold_unfolded(const float* u, int64_t ldu, int64_t nrows, int64_t tiles, float* y,
                                          int64_t ldy) {
  for (int64_t m = 0; m < nrows; ++m) {
    for (int64_t j = 0; j < tiles; ++j) {
      for (int h = 0; h < 2; ++h) {
        const float* um = u + m * ldu + j * kUnfolded + h * 32;
        float* ym = y + m * ldy + j * 32 + h * 16;
        _mm512_storeu_ps(ym, _mm512_add_ps(_mm512_loadu_ps(ym),
                                           fold_nibble_sums(_mm512_loadu_ps(um), _mm512_loadu_ps(um + 16))));
      }
    }
  }
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

// y[m][0..32) += a block-float tile against nrows rows of scaled x pairs (bfloat4_b: the
// unfolded sums u += it).
template <class Pairs>
TTT_AVX512_BF16 inline void tile_rows_scaled(const Bfp4Nibbles& nb, const uint8_t* tile, const int32_t* xp,
                                             int64_t nrows, float* y, int64_t ldy, float* u, int64_t ldu) {
  if constexpr (std::is_same_v<Pairs, Bfp4Nibbles>) {
    bfp4_tile_all_rows(nb, tile, xp, nrows, u, ldu);
  } else {
    tile_all_rows(Pairs(tile), xp, nrows, y, ldy);
  }
}

// Weights in one [K, N] block (or in shards wider than a tile): kStreams rows of tiles at
// a time, for each tile column j the tiles (tk, j) .. (tk + kStreams - 1, j) in turn, each
// row a sequential stream, which the memory system serves faster than one. The tiles are
// prefetched into L2 kPrefetchBytes ahead (past the end of a row: on in the rows that
// follow). A row's sums run in the order tk = 0, 1, 2, ... for every column.
constexpr int kStreams = 4;
constexpr int64_t kPrefetchBytes = 16384;
constexpr int64_t kRowsPerPass = 32;  // rows of x one pass keeps x pairs for

inline void prefetch_l2(const WeightView& w, int64_t tk, int64_t tn0, int64_t tiles, int64_t j) {
  const int64_t ahead = std::max<int64_t>(1, kPrefetchBytes / w.tile_bytes);  // tiles
  const int64_t kk = tk + (j + ahead) / tiles * kStreams, jj = (j + ahead) % tiles;
  if (kk >= w.kt) return;
  const auto* p = reinterpret_cast<const char*>(w.tile(kk, tn0 + jj));
  for (int64_t off = 0; off < w.tile_bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T1);
}

// n floats of this thread's GEMV scratch, 64-byte aligned.
inline float* aligned_scratch(int64_t n) {
  float* p = scratch(static_cast<std::size_t>(n + 16), kSlotThread2).data();
  return reinterpret_cast<float*>((reinterpret_cast<std::uintptr_t>(p) + 63) & ~std::uintptr_t{63});
}

// Whether a tile takes the scaled path depends on each row's own x only, so that a row's
// result does not depend on the rows beside it; tiles in every row's range go at once.
template <int kBits>
struct PassRanges {
  using Scaling = BlockScaling<kBits>;
  typename Scaling::Range rows[kRowsPerPass];
  __m512i all_lo = _mm512_setzero_si512(), all_hi = _mm512_setzero_si512();
  TTT_AVX512_BF16 PassRanges(const float* x, int64_t kpad, int64_t nrows) {
    if constexpr (kBits > 0) {
      int lo = 0, hi = 255;
      for (int64_t m = 0; m < nrows; ++m) {
        rows[m] = Scaling::row_range(x + m * kpad, kpad);
        lo = std::max(lo, rows[m].lo), hi = std::min(hi, rows[m].hi);
      }
      all_lo = Scaling::bytes(lo), all_hi = Scaling::bytes(hi);
    }
  }
};

// y (and bfloat4_b's unfolded sums u) += block-float tile (tk, tn) against nrows rows:
// xp and normal are the base x pairs of K tile tk (BlockScaling::base_pairs).
template <class Pairs>
TTT_AVX512_BF16 inline void block_float_tile(const WeightView& w, int64_t tk, int64_t tn, const uint8_t* tile,
                                             const PassRanges<Pairs::kBits>& r, const BlockScaling<Pairs::kBits>& scaling,
                                             const Bfp4Nibbles& nibbles, const int32_t* xp, const __mmask32* normal,
                                             const float* x, int64_t kpad, int64_t nrows, int32_t* scaled, float* y,
                                             int64_t ldy, float* u, int64_t ldu) {
  using Scaling = BlockScaling<Pairs::kBits>;
  if (Scaling::plain(tile, r.all_lo, r.all_hi)) {
    scaling.scale(tile, xp, normal, nrows, scaled);
    tile_rows_scaled<Pairs>(nibbles, tile, scaled, nrows, y, ldy, u, ldu);
    return;
  }
  for (int64_t m = 0; m < nrows; ++m) {  // row by row: the scaled path or exact fp32
    float* ym = y + m * ldy;
    if (Scaling::plain(tile, Scaling::bytes(r.rows[m].lo), Scaling::bytes(r.rows[m].hi))) {
      scaling.scale(tile, xp + m * kPairsPerTile, normal + 2 * m, 1, scaled);
      tile_rows_scaled<Pairs>(nibbles, tile, scaled, 1, ym, ldy, u ? u + m * ldu : nullptr, ldu);
    } else {
      special_tile(w, tk, tn, x + m * kpad, kpad, 1, ym, ldy);
    }
  }
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
  // bfloat4_b: the unfolded sums of every tile column of the pass.
  const int64_t ldu = kNibbles ? tiles * kUnfolded : 0;
  float* u = kNibbles ? aligned_scratch(std::min(kRowsPerPass, a.rows) * ldu) : nullptr;
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowsPerPass) {
    const int64_t nrows = std::min(kRowsPerPass, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    if (kNibbles) std::fill(u, u + nrows * ldu, 0.0f);
    const PassRanges<kBits> ranges(x, a.kpad, nrows);
    for (int64_t tk0 = 0; tk0 < w.kt; tk0 += kStreams) {
      const int streams = static_cast<int>(std::min<int64_t>(kStreams, w.kt - tk0));
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
          prefetch_l2(w, tk, tn0, tiles, j);
          if constexpr (kBits == 0) {
            tile_all_rows(Pairs(tile), xp[s], nrows, y0 + j * 32, a.ldy);
          } else {
            block_float_tile<Pairs>(w, tk, tn0 + j, tile, ranges, scaling, nibbles, xp[s], normal[s], x, a.kpad, nrows,
                                    scaled, y0 + j * 32, a.ldy, kNibbles ? u + j * kUnfolded : nullptr, ldu);
          }
        }
      }
    }
    if (kNibbles) fold_unfolded(u, ldu, nrows, tiles, y0, a.ldy);
  }
}

// Weights in column panels ([n / 32, k, 32], shard_nt 1): the thread's panels lie one
// after another, each its K tiles in order, so one pass streams them start to end, each
// tile prefetched into L2 kPrefetchBytes ahead (eight rows of x, where a tile computes
// long: bf16 0.65 -> 0.87-0.88 of the read, bfloat8_b 0.32 -> 0.42, bfloat4_b 0.28 ->
// 0.34; one row: no loss). The x pairs of every K tile are made once per pass (block
// floats: Scaling's base); y of the panel stays in L1 over its K tiles. A column sums its
// tiles in the order tk = 0, 1, ... as gemv_tiles does: the results are the same, bit for
// bit.
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
  auto* xp_all = reinterpret_cast<int32_t*>(aligned_scratch(pair_words + mask_words));
  auto* normal_all = reinterpret_cast<__mmask32*>(xp_all + pair_words);
  alignas(64) int32_t scaled[kRowsPerPass * kPairsPerTile];
  alignas(64) float u[kRowsPerPass * kUnfolded];  // bfloat4_b: the unfolded sums of one panel
  const Bfp4Nibbles nibbles;
  const Scaling scaling(kNibbles);
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowsPerPass) {
    const int64_t nrows = std::min(kRowsPerPass, a.rows - r0);
    const float* x = a.x + r0 * a.kpad;
    float* y0 = a.y + r0 * a.ldy;
    for (int64_t m = 0; m < nrows; ++m) std::fill(y0 + m * a.ldy, y0 + m * a.ldy + tiles * 32, 0.0f);
    const PassRanges<kBits> ranges(x, a.kpad, nrows);
    for (int64_t tk = 0; tk < w.kt; ++tk) {
      int32_t* xp = xp_all + tk * nrows * kPairsPerTile;
      if constexpr (kBits == 0) {
        tile_x_pairs(x, a.kpad, nrows, tk, xp);
      } else {
        Scaling::base_pairs(x, a.kpad, nrows, tk, kNibbles, xp, normal_all + tk * nrows * 2);
      }
    }
    const uint8_t* end = panels_end(w, tn0, tiles);
    for (int64_t j = 0; j < tiles; ++j) {
      float* y = y0 + j * 32;
      if (kNibbles) std::fill(u, u + nrows * kUnfolded, 0.0f);
      const uint8_t* panel = w.tile(0, tn0 + j);  // its K tiles one after another
      for (int64_t tk = 0; tk < w.kt; ++tk) {
        const uint8_t* tile = panel + tk * w.tile_bytes;
        prefetch_panel_tile<_MM_HINT_T1>(w, tile, end, kPrefetchBytes);
        const int32_t* xp = xp_all + tk * nrows * kPairsPerTile;
        if constexpr (kBits == 0) {
          tile_all_rows(Pairs(tile), xp, nrows, y, a.ldy);
        } else {
          block_float_tile<Pairs>(w, tk, tn0 + j, tile, ranges, scaling, nibbles, xp, normal_all + tk * nrows * 2, x,
                                  a.kpad, nrows, scaled, y, a.ldy, u, kUnfolded);
        }
      }
      if (kNibbles) fold_unfolded(u, kUnfolded, nrows, 1, y, a.ldy);
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
