// Row kernels for AVX-512 F/BW/VL/DQ (16 fp32 lanes).
#define TTT_ROW_TARGET TTT_TARGET_AVX512
#define TTT_ROW_NS avx512_isa
#define TTT_ROW_VEC ::ttt::ops::simd::VecAvx512
#include "ops/eltwise/row_kernels.inc"

namespace ttt::ops::rows {
const RowKernels& row_kernels_avx512() { return avx512_isa::kTable; }
}  // namespace ttt::ops::rows
