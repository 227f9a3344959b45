#include "ops/numerics/ttnn_numerics.hpp"

#include "ttt/error.hpp"

namespace ttt::ops::numerics {

double fidelity_product(float a, float b, MathFidelity f) {
  double sum = 0;
  for (int phase = 0; phase < fidelity_phases(f); ++phase) {
    sum += static_cast<double>(srca_phase_part(a, phase)) * static_cast<double>(srcb_phase_part(b, phase));
  }
  return sum;
}

void to_src_register(std::span<float> values) {
  for (float& v : values) v = to_src_register(v);
}

void mask_bits(std::span<const float> in, std::span<float> out, uint32_t mask) {
  TTT_CHECK(in.size() == out.size(), ShapeMismatch, "mask_bits: input has {} values, output {}", in.size(),
            out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = mask_bits(in[i], mask);
}

}  // namespace ttt::ops::numerics
