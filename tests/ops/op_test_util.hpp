// Shared helpers for op tests: random inputs, double-precision comparisons.
#pragma once

#include <cmath>
#include <cstring>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "ttt/device.hpp"
#include "ttt/formats.hpp"
#include "ttt/tensor.hpp"

namespace ttt::test {

inline std::vector<float> random_values(std::size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Pearson correlation of two sequences (1.0 when both are constant and equal).
inline double pcc(std::span<const double> a, std::span<const double> b) {
  const std::size_t n = a.size();
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) {
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return 0.0;
    return 1.0;
  }
  return sab / std::sqrt(saa * sbb);
}

inline double pcc(std::span<const float> a, std::span<const double> b) {
  std::vector<double> ad(a.begin(), a.end());
  return pcc(std::span<const double>(ad), b);
}

inline double max_abs_diff(std::span<const float> a, std::span<const double> b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// A host tensor holding `values` in the given format.
inline Tensor make_tensor(const std::vector<float>& values, const Shape& shape, DataType dtype = DataType::FLOAT32,
                          Layout layout = Layout::ROW_MAJOR, std::string name = "t") {
  return from_float(values, TensorSpec{std::move(name), shape, dtype, layout, {}});
}

// The values a tensor of this format would hold (what the op actually sees).
inline std::vector<double> quantized(const std::vector<float>& values, const Shape& shape, DataType dtype,
                                     Layout layout) {
  const auto f = to_float(make_tensor(values, shape, dtype, layout));
  return std::vector<double>(f.begin(), f.end());
}

// Every padded element of a TILE tensor (columns past the last dim, rows past the one before)
// holds zero.
inline bool padding_is_zero(const Tensor& t) {
  const TileGeometry g = tile_geometry(t.shape());
  std::vector<float> tiled(static_cast<std::size_t>(g.padded_elements()));
  switch (t.dtype()) {
    case DataType::FLOAT32: std::memcpy(tiled.data(), t.raw(), tiled.size() * sizeof(float)); break;
    case DataType::BFLOAT16:
      bfloat16_to_float(std::span<const uint16_t>(t.data<const uint16_t>(), tiled.size()), tiled);
      break;
    default:
      unpack_bfp_tiles(t.dtype(), std::span<const uint8_t>(t.data<const uint8_t>(), static_cast<std::size_t>(t.bytes())),
                       tiled);
  }
  for (int64_t tile = 0; tile < g.tiles(); ++tile) {
    const int64_t tr = (tile / g.tile_cols()) % g.tile_rows(), tc = tile % g.tile_cols();
    for (int64_t i = 0; i < kTileSize; ++i)
      for (int64_t j = 0; j < kTileSize; ++j) {
        const bool pad = tr * kTileSize + i >= g.height || tc * kTileSize + j >= g.width;
        if (pad && tiled[static_cast<std::size_t>(tile * kTileElems + tile_element_index(i, j))] != 0.f) return false;
      }
  }
  return true;
}

}  // namespace ttt::test
