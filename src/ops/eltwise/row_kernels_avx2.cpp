// Row kernels for AVX2 + FMA (8 fp32 lanes).
#define TTT_ROW_TARGET TTT_TARGET_AVX2
#define TTT_ROW_NS avx2_isa
#define TTT_ROW_VEC ::ttt::ops::simd::VecAvx2
#include "ops/eltwise/row_kernels.inc"

namespace ttt::ops::rows {
const RowKernels& row_kernels_avx2() { return avx2_isa::kTable; }
}  // namespace ttt::ops::rows
