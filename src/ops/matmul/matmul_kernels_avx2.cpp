// The AVX2 + FMA kernel set: its own GEMV (matmul_gemv_avx2.cpp) and the portable bodies
// compiled for AVX2 (256-bit lanes, FMA) for the rest. Used on hosts without AVX-512 and
// in the tests that compare every level.
#include "ops/matmul/matmul_generic.hpp"
#include "ops/matmul/matmul_kernels.hpp"

#define TTT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ttt::ops::matmul_detail {
namespace {

TTT_AVX2 void pack_a_avx2(const float* x, int64_t kpad, int64_t rows, int64_t r0, void* out) {
  generic::pack_a_fp32(x, kpad, rows, r0, out);
}
TTT_AVX2 void pack_b_avx2(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, void* out) {
  generic::pack_b_fp32(w, k0, kc, n0, out);
}
TTT_AVX2 void micro_avx2(const void* a, const void* b, int64_t kc, float* c, int64_t ldc, int mr, int nr,
                         bool accumulate) {
  generic::micro_fp32(a, b, kc, c, ldc, mr, nr, accumulate);
}
TTT_AVX2 void decode_tile_avx2(const WeightView& w, int64_t tk, int64_t tn, float* out) {
  generic::decode_tile(w, tk, tn, out);
}
TTT_AVX2 void epilogue_avx2(float* y, int64_t n, const EpilogueArgs& e) { generic::epilogue_row(y, n, e); }

}  // namespace

const KernelSet& avx2_kernels() {
  static const KernelSet set = [] {
    KernelSet s;
    s.isa = IsaLevel::AVX2;
    s.gemv = gemv_avx2;
    s.gemm_fp32 = GemmKernels{GemmMath::FP32, pack_a_avx2, pack_b_avx2, micro_avx2};
    s.gemm_bf16 = s.gemm_fp32;
    s.decode_tile = decode_tile_avx2;
    s.epilogue_row = epilogue_avx2;
    return s;
  }();
  return set;
}

}  // namespace ttt::ops::matmul_detail
