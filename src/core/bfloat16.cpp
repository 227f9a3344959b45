// bfloat16 array conversions. The scalar rules live in formats.hpp; these loops are
// written so the compiler vectorises them.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {

void float_to_bfloat16(std::span<const float> in, std::span<uint16_t> out) {
  TTT_CHECK(in.size() == out.size(), ShapeMismatch, "float_to_bfloat16: {} input values but room for {} outputs",
            in.size(), out.size());
  const float* src = in.data();
  uint16_t* dst = out.data();
  for (std::size_t k = 0; k < in.size(); ++k) dst[k] = float_to_bfloat16(src[k]);
}

void bfloat16_to_float(std::span<const uint16_t> in, std::span<float> out) {
  TTT_CHECK(in.size() == out.size(), ShapeMismatch, "bfloat16_to_float: {} input values but room for {} outputs",
            in.size(), out.size());
  const uint16_t* src = in.data();
  float* dst = out.data();
  for (std::size_t k = 0; k < in.size(); ++k) dst[k] = bfloat16_to_float(src[k]);
}

}  // namespace ttt
