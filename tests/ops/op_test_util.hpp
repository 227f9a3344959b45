// Shared helpers for op tests: random inputs, double-precision comparisons.
#pragma once

#include <cmath>
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

}  // namespace ttt::test
