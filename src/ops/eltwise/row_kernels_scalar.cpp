// Row kernels in portable scalar code: the fallback path and the reference the wide
// paths are tested against.
#define TTT_ROW_TARGET
#define TTT_ROW_NS scalar_isa
#define TTT_ROW_VEC ::ttt::ops::simd::VecScalar
#include "ops/eltwise/row_kernels.inc"

namespace ttt::ops::rows {
const RowKernels& row_kernels_scalar() { return scalar_isa::kTable; }
}  // namespace ttt::ops::rows
