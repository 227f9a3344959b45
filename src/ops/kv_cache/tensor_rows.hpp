// Row access to a tensor seen as a stack of matrices [..., rows, cols], in any float
// dtype and layout: read rows as fp32, write fp32 rows back in the tensor's own format.
// Attention kernels go through this instead of staging whole tensors, so a decode step
// reads only the cache rows it attends to and an update writes only the rows it owns.
//
// A row of a TILE tensor is spread over the face rows (16 values each) of one tile row;
// a face row never mixes logical rows, so writing a row re-packs exactly its own face
// rows (for block floats: each face row's shared exponent and 16 codes) and no byte of
// any other row changes. Different rows can therefore be written from different threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ttt/dtype.hpp"
#include "ttt/formats.hpp"
#include "ttt/tensor.hpp"

namespace ttt::ops {

class TensorRows {
 public:
  // Float dtypes only (ShapeMismatch / InvalidConfig otherwise); rank >= 1.
  explicit TensorRows(const Tensor& t);

  int64_t matrices() const { return matrices_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // FLOAT32 ROW_MAJOR: rows are the tensor's own contiguous memory.
  bool direct() const { return direct_; }

  // `n` rows starting at row `r` of matrix `m`, as n * cols() fp32 values: the tensor's
  // memory when direct(), else decoded into `buf` (room for n * cols() floats).
  const float* read(int64_t m, int64_t r, int64_t n, float* buf) const;

  // Writes n * cols() values as rows r.. of matrix m, rounding to the tensor's dtype exactly
  // as from_float does (bf16: nearest even; block floats: the row's face rows re-packed).
  void write(int64_t m, int64_t r, int64_t n, const float* src) const;

  // Direct pointer to a row; only when direct().
  float* row_ptr(int64_t m, int64_t r) const {
    return reinterpret_cast<float*>(base_) + (m * rows_ + r) * cols_;
  }

  // BFLOAT16 ROW_MAJOR: rows are contiguous bf16 words that kernels can widen themselves.
  bool bf16_rows() const { return dtype_ == DataType::BFLOAT16 && layout_ == Layout::ROW_MAJOR; }
  const uint16_t* bf16_row_ptr(int64_t m, int64_t r) const {
    return reinterpret_cast<const uint16_t*>(base_) + (m * rows_ + r) * cols_;
  }

  // Bytes of the face rows that hold row r of matrix m (block floats: the exponent byte
  // and the mantissa bytes of each face row); calls fn(offset, length) for each range.
  template <typename Fn>
  void for_each_row_byte_range(int64_t m, int64_t r, Fn&& fn) const;

 private:
  void read_tile_row(int64_t m, int64_t r, float* out) const;
  void write_tile_row(int64_t m, int64_t r, const float* in) const;

  std::byte* base_ = nullptr;
  DataType dtype_ = DataType::FLOAT32;
  Layout layout_ = Layout::ROW_MAJOR;
  int64_t matrices_ = 1, rows_ = 1, cols_ = 1;
  int64_t tile_rows_ = 1, tile_cols_ = 1;
  bool direct_ = false;
};

template <typename Fn>
void TensorRows::for_each_row_byte_range(int64_t m, int64_t r, Fn&& fn) const {
  if (layout_ == Layout::ROW_MAJOR) {
    const int64_t eb = element_bytes(dtype_);
    fn((m * rows_ + r) * cols_ * eb, cols_ * eb);
    return;
  }
  const int64_t tr = r / kTileSize, i = r % kTileSize;
  for (int64_t tc = 0; tc < tile_cols_; ++tc) {
    const int64_t tile = (m * tile_rows_ + tr) * tile_cols_ + tc;
    for (int half = 0; half < 2; ++half) {
      const int64_t j0 = tc * kTileSize + half * kFaceSize;
      if (j0 >= cols_) break;
      const int face = static_cast<int>((i / kFaceSize) * 2 + half);
      const int fr = static_cast<int>(i % kFaceSize);
      if (is_block_float(dtype_)) {
        const int64_t tb = tile * tile_bytes(dtype_);
        fn(tb + bfp_exponent_offset(face, fr), int64_t{1});
        fn(tb + bfp_mantissa_offset(dtype_, face, fr), bfp_row_bytes(dtype_));
      } else {
        const int64_t eb = element_bytes(dtype_);
        fn((tile * kTileElems + face * kFaceSize * kFaceSize + fr * kFaceSize) * eb, kFaceSize * eb);
      }
    }
  }
}

}  // namespace ttt::ops
