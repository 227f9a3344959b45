// Portable bodies of the matmul kernels: plain loops over fixed 16- and 32-wide rows
// that the compiler vectorizes. Every function is always_inline so that it takes the
// instruction set of the function it is inlined into: matmul_kernels_scalar.cpp uses them
// as they are, matmul_kernels_avx2.cpp from functions compiled for AVX2 + FMA, and the
// AVX-512 set for its less hot parts. Internal to src/ops/matmul.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/matmul/matmul_kernels.hpp"
#include "ttt/formats.hpp"

#define TTT_MATMUL_INLINE [[gnu::always_inline]] inline

namespace ttt::ops::matmul_detail::generic {

// Values of one face row of a block-float tile, exact. The shared exponents that the
// plain scaling cannot express (below the magnitude width: the unpacker renormalises;
// 255: inf / NaN) go through the library's exact decoder.
template <int kBits>
TTT_MATMUL_INLINE void decode_bfp_face_row(const uint8_t* tile, int face, int row, float* out) {
  constexpr DataType kType = kBits == 7 ? DataType::BFLOAT8_B : DataType::BFLOAT4_B;
  const uint32_t e = tile[bfp_exponent_offset(face, row)];
  const uint8_t* codes = tile + bfp_mantissa_offset(kType, face, row);
  if (e < kBits || e == 255) {
    decode_bfp_row(kType, static_cast<uint8_t>(e), codes, out);
    return;
  }
  float scale = 0;
  const uint32_t scale_bits = (e - (kBits - 1)) << 23;
  std::memcpy(&scale, &scale_bits, sizeof(scale));
  uint8_t c[16];
  if constexpr (kBits == 7) {
    std::memcpy(c, codes, 16);
  } else {
    for (int j = 0; j < 8; ++j) {
      c[2 * j] = codes[j] & 0xFu;
      c[2 * j + 1] = codes[j] >> 4;
    }
  }
  constexpr uint8_t kSign = 1u << kBits;
  for (int j = 0; j < 16; ++j) {
    const float magnitude = static_cast<float>(c[j] & (kSign - 1));
    out[j] = (c[j] & kSign) ? -(magnitude * scale) : magnitude * scale;
  }
}

// Tile (tk, tn) of tiled weights as 32 x 32 fp32 values, row-major (k rows, n columns).
TTT_MATMUL_INLINE void decode_tile(const WeightView& w, int64_t tk, int64_t tn, float* out) {
  const uint8_t* tile = w.tile(tk, tn);
  for (int f = 0; f < 4; ++f) {
    float* face = out + (f / 2) * 16 * 32 + (f % 2) * 16;
    for (int r = 0; r < 16; ++r) {
      float* row = face + r * 32;
      switch (w.dtype) {
        case DataType::FLOAT32:
          std::memcpy(row, tile + (f * 256 + r * 16) * 4, 64);
          break;
        case DataType::BFLOAT16: {
          uint16_t b[16];
          std::memcpy(b, tile + (f * 256 + r * 16) * 2, 32);
          for (int j = 0; j < 16; ++j) {
            const uint32_t u = static_cast<uint32_t>(b[j]) << 16;
            std::memcpy(row + j, &u, 4);
          }
          break;
        }
        case DataType::BFLOAT8_B: decode_bfp_face_row<7>(tile, f, r, row); break;
        case DataType::BFLOAT4_B: decode_bfp_face_row<3>(tile, f, r, row); break;
        default: std::memset(row, 0, 64); break;
      }
    }
  }
}

// Value (k, n) of row-major weights (FLOAT32 or BFLOAT16).
TTT_MATMUL_INLINE float row_major_value(const WeightView& w, int64_t k, int64_t n) {
  if (w.dtype == DataType::FLOAT32) {
    float v;
    std::memcpy(&v, w.data + (k * w.n + n) * 4, 4);
    return v;
  }
  uint16_t b;
  std::memcpy(&b, w.data + (k * w.n + n) * 2, 2);
  return bfloat16_to_float(b);
}

// acc[0..32) += xv * row[0..32)
TTT_MATMUL_INLINE void axpy32(float* __restrict acc, float xv, const float* __restrict row) {
  for (int j = 0; j < 32; ++j) acc[j] += xv * row[j];
}

TTT_MATMUL_INLINE void gemv(const GemvArgs& a) {
  const WeightView& w = *a.w;
  const int64_t tiles = (a.cols + 31) / 32;
  for (int64_t r = 0; r < a.rows; ++r) std::fill(a.y + r * a.ldy, a.y + r * a.ldy + tiles * 32, 0.0f);
  if (w.layout == Layout::TILE) {
    alignas(64) float t[32 * 32];
    for (int64_t tk = 0; tk < w.kt; ++tk) {
      for (int64_t j = 0; j < tiles; ++j) {
        decode_tile(w, tk, a.col0 / 32 + j, t);
        for (int64_t r = 0; r < a.rows; ++r) {
          const float* xr = a.x + r * a.kpad + tk * 32;
          alignas(64) float acc[32];
          float* yr = a.y + r * a.ldy + j * 32;
          std::memcpy(acc, yr, sizeof(acc));
          for (int k = 0; k < 32; ++k) axpy32(acc, xr[k], t + k * 32);
          std::memcpy(yr, acc, sizeof(acc));
        }
      }
    }
    return;
  }
  // Row-major: one weight row segment at a time, 32 columns per step.
  const int64_t cols = std::min(a.cols, w.n - a.col0);
  alignas(64) float seg[32];
  for (int64_t k = 0; k < w.k; ++k) {
    for (int64_t c0 = 0; c0 < cols; c0 += 32) {
      const int64_t width = std::min<int64_t>(32, cols - c0);
      for (int64_t j = 0; j < 32; ++j) seg[j] = j < width ? row_major_value(w, k, a.col0 + c0 + j) : 0.0f;
      for (int64_t r = 0; r < a.rows; ++r) axpy32(a.y + r * a.ldy + c0, a.x[r * a.kpad + k], seg);
    }
  }
}

// A block [kpad][8] fp32 from rows [r0, r0 + 8) of x (zero rows past the end).
TTT_MATMUL_INLINE void pack_a_fp32(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) {
  float* o = static_cast<float*>(out);
  const int64_t mr = std::min<int64_t>(kGemmMR, rows - r0);
  for (int64_t k = 0; k < kpad; ++k) {
    for (int64_t r = 0; r < kGemmMR; ++r) o[k * kGemmMR + r] = r < mr ? x[(r0 + r) * kpad + k] : 0.0f;
  }
}

// B panel [kc][32] fp32 of W at k in [k0, k0 + kc), n in [n0, n0 + 32).
TTT_MATMUL_INLINE void pack_b_fp32(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) {
  float* o = static_cast<float*>(out);
  if (w.layout == Layout::TILE) {
    for (int64_t k = 0; k < kc; k += 32) decode_tile(w, (k0 + k) / 32, n0 / 32, o + k * 32);
    return;
  }
  const int64_t width = std::min<int64_t>(32, w.n - n0);
  for (int64_t k = 0; k < kc; ++k) {
    float* row = o + k * 32;
    if (k0 + k >= w.k) {
      std::fill(row, row + 32, 0.0f);
      continue;
    }
    for (int64_t j = 0; j < 32; ++j) row[j] = j < width ? row_major_value(w, k0 + k, n0 + j) : 0.0f;
  }
}

TTT_MATMUL_INLINE void micro_fp32(const void* a_, const void* b_, int64_t kc, float* c, int64_t ldc, int mr, int nr,
                                  bool accumulate) {
  const float* a = static_cast<const float*>(a_);
  const float* b = static_cast<const float*>(b_);
  alignas(64) float acc[kGemmMR][32] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < kGemmMR; ++r) axpy32(acc[r], a[k * kGemmMR + r], b + k * 32);
  }
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    for (int j = 0; j < nr; ++j) cr[j] = accumulate ? cr[j] + acc[r][j] : acc[r][j];
  }
}

TTT_MATMUL_INLINE void epilogue_row(float* y, int64_t n, const EpilogueArgs& e) {
  if (e.bias) {
    for (int64_t i = 0; i < n; ++i) y[i] += e.bias[i];
  }
  if (e.activation == UnaryActivation::RELU) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.0f);
  } else if (e.activation != UnaryActivation::NONE) {
    for (int64_t i = 0; i < n; ++i) y[i] = activation_ref(e.activation, y[i]);
  }
}

}  // namespace ttt::ops::matmul_detail::generic
