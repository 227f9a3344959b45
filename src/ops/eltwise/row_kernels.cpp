#include "ops/eltwise/row_kernels.hpp"

#include <cstring>

namespace ttt::ops::rows {

const RowKernels& row_kernels(IsaLevel isa) {
  switch (isa) {
    case IsaLevel::AVX512_BF16:
    case IsaLevel::AVX512: return row_kernels_avx512();
    case IsaLevel::AVX2: return row_kernels_avx2();
    case IsaLevel::SCALAR: break;
  }
  return row_kernels_scalar();
}

const RowKernels& row_kernels() { return row_kernels(active_isa()); }

namespace {
bool in_place(const Tensor& t) {
  return t.layout() == Layout::ROW_MAJOR && (t.dtype() == DataType::FLOAT32 || t.dtype() == DataType::BFLOAT16);
}
}  // namespace

RowSource row_source(const Tensor& t, int slot) {
  if (in_place(t)) return {t.raw(), t.dtype() == DataType::BFLOAT16 ? Elem::BF16 : Elem::F32};
  return {load_float(t, slot).data(), Elem::F32};
}

RowSink row_sink(Tensor& out, int slot) {
  if (in_place(out)) return {out.raw(), out.dtype() == DataType::BFLOAT16 ? Elem::BF16 : Elem::F32, false};
  return {output_staging(out, slot).data(), Elem::F32, true};
}

void row_finish(const RowSink& sink, Tensor& out) {
  if (!sink.staged) return;
  const auto n = static_cast<std::size_t>(out.shape().volume());
  store_float(std::span<const float>(static_cast<const float*>(sink.data), n), out);
}

}  // namespace ttt::ops::rows
