// Host row kernels shared by the element-wise, normalisation, embedding and typecast ops:
// conversions, binary and unary element-wise math, sum of squares and scaling. They read
// and write fp32 or bf16 memory directly (no staging), compute in fp32, and are compiled
// for AVX-512, AVX2+FMA and portable scalar code (row_kernels.inc, one .cpp per ISA),
// picked at run time from active_isa().
//
// Operands in other formats (TILE layout, block floats) are decoded with load_float into
// fp32 scratch first and outputs staged in fp32 (row_source / row_sink / row_finish).
#pragma once

#include <cstdint>

#include "ops/op_common.hpp"
#include "ttt/cpu_features.hpp"

namespace ttt::ops::rows {

inline constexpr int64_t kRowChunk = 1024;  // elements per kernel call when ops walk flat ranges
// Elements below which waking another thread costs more than it saves: the grain of the
// ops' parallel_for (a decode step's 2048-wide activation stays on one thread).
inline constexpr int64_t kParallelGrain = 16384;
// The same grain in rows of `width` elements.
constexpr int64_t row_grain(int64_t width) {
  return width >= kParallelGrain ? 1 : kParallelGrain / (width > 0 ? width : 1);
}

enum class Elem { F32, BF16 };                 // element formats the kernels read and write directly
enum class BinaryKind { ADD, MUL, SILU_MUL };  // SILU_MUL: silu(a) * b, the SwiGLU gate
enum class UnaryKind { SILU, RELU };

constexpr int64_t elem_bytes(Elem e) { return e == Elem::F32 ? 4 : 2; }

// Pointers plus their element formats; n elements each.
struct RowKernels {
  // bf16 results round to nearest even (NaN -> 0x7FC0), exactly as float_to_bfloat16.
  void (*convert)(const void* in, Elem from, void* out, Elem to, int64_t n);
  void (*binary)(BinaryKind kind, const void* a, Elem ea, const void* b, Elem eb, void* out, Elem eo, int64_t n);
  void (*unary)(UnaryKind kind, const void* x, Elem ex, void* out, Elem eo, int64_t n);
  // Sum of x[i]^2: fp32 lane accumulators, combined in double.
  double (*sum_squares)(const void* x, Elem ex, int64_t n);
  // out[i] = x[i] * s * gamma[i]; gamma may be null (then out[i] = x[i] * s).
  void (*scale)(const void* x, Elem ex, float s, const float* gamma, void* out, Elem eo, int64_t n);
};

// The kernels for `isa` (AVX512_BF16 uses the AVX-512 ones), or for active_isa().
const RowKernels& row_kernels(IsaLevel isa);
const RowKernels& row_kernels();

// Per-ISA tables, defined in row_kernels_{scalar,avx2,avx512}.cpp.
const RowKernels& row_kernels_scalar();
const RowKernels& row_kernels_avx2();
const RowKernels& row_kernels_avx512();

// A row-major operand as fp32 or bf16 memory.
struct RowSource {
  const void* data = nullptr;
  Elem elem = Elem::F32;
  const void* at(int64_t offset) const { return static_cast<const std::byte*>(data) + offset * elem_bytes(elem); }
};

// Where results go: the output's own fp32/bf16 memory, or an fp32 staging area.
struct RowSink {
  void* data = nullptr;
  Elem elem = Elem::F32;
  bool staged = false;  // data is scratch that row_finish() stores into the tensor
  void* at(int64_t offset) const { return static_cast<std::byte*>(data) + offset * elem_bytes(elem); }
};

// FLOAT32 / BFLOAT16 ROW_MAJOR tensors are read in place; other formats are decoded into
// scratch `slot` first.
RowSource row_source(const Tensor& t, int slot);
// FLOAT32 / BFLOAT16 ROW_MAJOR outputs are written in place; others are staged in scratch
// `slot` and converted by row_finish().
RowSink row_sink(Tensor& out, int slot);
void row_finish(const RowSink& sink, Tensor& out);

}  // namespace ttt::ops::rows
