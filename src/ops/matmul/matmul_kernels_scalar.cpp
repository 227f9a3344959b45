// The portable kernel set (no SIMD beyond what the baseline target vectorizes), the
// reference every other level is tested against, and the dispatch by ISA level.
#include <cmath>

#include "ops/matmul/matmul_generic.hpp"
#include "ops/matmul/matmul_kernels.hpp"

namespace ttt::ops::matmul_detail {

float activation_ref(UnaryActivation a, float v) {
  switch (a) {
    case UnaryActivation::NONE: return v;
    case UnaryActivation::SILU: return v / (1.0f + std::exp(-v));
    case UnaryActivation::GELU: return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    case UnaryActivation::RELU: return v > 0.0f ? v : 0.0f;
  }
  return v;
}

namespace {

void gemv_scalar(const GemvArgs& a) { generic::gemv(a); }
void pack_a_scalar(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) {
  generic::pack_a_fp32(x, kpad, rows, r0, out);
}
void pack_b_scalar(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) {
  generic::pack_b_fp32(w, k0, kc, n0, out);
}
void micro_scalar(const void* a, const void* b, int64_t kc, float* c, int64_t ldc, int mr, int nr, bool accumulate) {
  generic::micro_fp32(a, b, kc, c, ldc, mr, nr, accumulate);
}
void decode_tile_scalar(const WeightView& w, int64_t tk, int64_t tn, float* out) { generic::decode_tile(w, tk, tn, out); }
void epilogue_scalar(float* y, int64_t n, const EpilogueArgs& e) { generic::epilogue_row(y, n, e); }

}  // namespace

const KernelSet& scalar_kernels() {
  static const KernelSet set = [] {
    KernelSet s;
    s.isa = IsaLevel::SCALAR;
    s.gemv = gemv_scalar;
    s.gemm_fp32 = GemmKernels{GemmMath::FP32, pack_a_scalar, pack_b_scalar, micro_scalar};
    s.gemm_bf16 = s.gemm_fp32;
    s.decode_tile = decode_tile_scalar;
    s.epilogue_row = epilogue_scalar;
    return s;
  }();
  return set;
}

const KernelSet& kernels_for(IsaLevel isa) {
  switch (isa) {
    case IsaLevel::AVX512_BF16: return avx512_bf16_kernels();
    case IsaLevel::AVX512: return avx512_kernels();
    case IsaLevel::AVX2: return avx2_kernels();
    case IsaLevel::SCALAR: break;
  }
  return scalar_kernels();
}

}  // namespace ttt::ops::matmul_detail
