#include "ops/kv_cache/tensor_rows.hpp"

#include <algorithm>
#include <cstring>

#include "ops/sdpa/attention_kernels.hpp"
#include "ttt/error.hpp"

namespace ttt::ops {

TensorRows::TensorRows(const Tensor& t) : base_(t.raw()), dtype_(t.dtype()), layout_(t.layout()) {
  TTT_CHECK(is_float(dtype_), InvalidConfig, "tensor '{}' is {}; attention ops take float tensors only", t.name(),
            to_string(dtype_));
  TTT_CHECK(!is_block_float(dtype_) || layout_ == Layout::TILE, InvalidConfig,
            "tensor '{}' is {} in {} layout; block floats exist only in TILE layout", t.name(), to_string(dtype_),
            to_string(layout_));
  const Shape& s = t.shape();
  cols_ = s.rank() >= 1 ? s[-1] : 1;
  rows_ = s.rank() >= 2 ? s[-2] : 1;
  matrices_ = rows_ * cols_ > 0 ? s.volume() / (rows_ * cols_) : 0;
  tile_rows_ = (rows_ + kTileSize - 1) / kTileSize;
  tile_cols_ = (cols_ + kTileSize - 1) / kTileSize;
  direct_ = dtype_ == DataType::FLOAT32 && layout_ == Layout::ROW_MAJOR;
}

const float* TensorRows::read(int64_t m, int64_t r, int64_t n, float* buf) const {
  if (direct_) return row_ptr(m, r);
  if (layout_ == Layout::ROW_MAJOR) {  // BFLOAT16
    attn::bf16_to_float(reinterpret_cast<const uint16_t*>(base_) + (m * rows_ + r) * cols_, buf, n * cols_);
    return buf;
  }
  for (int64_t i = 0; i < n; ++i) read_tile_row(m, r + i, buf + i * cols_);
  return buf;
}

void TensorRows::write(int64_t m, int64_t r, int64_t n, const float* src) const {
  if (direct_) {
    float* dst = row_ptr(m, r);
    if (dst != src) std::memmove(dst, src, static_cast<std::size_t>(n * cols_) * sizeof(float));
    return;
  }
  if (layout_ == Layout::ROW_MAJOR) {
    auto* dst = reinterpret_cast<uint16_t*>(base_) + (m * rows_ + r) * cols_;
    const int64_t count = n * cols_;
    for (int64_t k = 0; k < count; ++k) dst[k] = float_to_bfloat16(src[k]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) write_tile_row(m, r + i, src + i * cols_);
}

void TensorRows::read_tile_row(int64_t m, int64_t r, float* out) const {
  const int64_t tr = r / kTileSize, i = r % kTileSize;
  const int fr = static_cast<int>(i % kFaceSize);
  for (int64_t tc = 0; tc < tile_cols_; ++tc) {
    const int64_t tile = (m * tile_rows_ + tr) * tile_cols_ + tc;
    for (int half = 0; half < 2; ++half) {
      const int64_t j0 = tc * kTileSize + half * kFaceSize;
      if (j0 >= cols_) break;
      const int64_t valid = std::min<int64_t>(kFaceSize, cols_ - j0);
      const int face = static_cast<int>((i / kFaceSize) * 2 + half);
      float* o = out + j0;
      const int64_t elem = tile * kTileElems + face * kFaceSize * kFaceSize + fr * kFaceSize;
      switch (dtype_) {
        case DataType::FLOAT32:
          std::memcpy(o, reinterpret_cast<const float*>(base_) + elem, static_cast<std::size_t>(valid) * 4);
          break;
        case DataType::BFLOAT16: {
          const auto* s = reinterpret_cast<const uint16_t*>(base_) + elem;
          for (int64_t k = 0; k < valid; ++k) o[k] = bfloat16_to_float(s[k]);
          break;
        }
        default: {
          const auto* tb = reinterpret_cast<const uint8_t*>(base_) + tile * tile_bytes(dtype_);
          float tmp[kBfpRowElems];
          decode_bfp_row(dtype_, tb[bfp_exponent_offset(face, fr)], tb + bfp_mantissa_offset(dtype_, face, fr), tmp);
          std::memcpy(o, tmp, static_cast<std::size_t>(valid) * sizeof(float));
          break;
        }
      }
    }
  }
}

void TensorRows::write_tile_row(int64_t m, int64_t r, const float* in) const {
  const int64_t tr = r / kTileSize, i = r % kTileSize;
  const int fr = static_cast<int>(i % kFaceSize);
  for (int64_t tc = 0; tc < tile_cols_; ++tc) {
    const int64_t tile = (m * tile_rows_ + tr) * tile_cols_ + tc;
    for (int half = 0; half < 2; ++half) {
      const int64_t j0 = tc * kTileSize + half * kFaceSize;
      if (j0 >= cols_) break;
      const int64_t valid = std::min<int64_t>(kFaceSize, cols_ - j0);
      const int face = static_cast<int>((i / kFaceSize) * 2 + half);
      const float* s = in + j0;
      const int64_t elem = tile * kTileElems + face * kFaceSize * kFaceSize + fr * kFaceSize;
      switch (dtype_) {
        case DataType::FLOAT32:
          std::memcpy(reinterpret_cast<float*>(base_) + elem, s, static_cast<std::size_t>(valid) * 4);
          break;
        case DataType::BFLOAT16: {
          auto* d = reinterpret_cast<uint16_t*>(base_) + elem;
          for (int64_t k = 0; k < valid; ++k) d[k] = float_to_bfloat16(s[k]);
          break;
        }
        default: {
          // Read-modify-write of one face row: its padding values (past the last column)
          // keep what they held, the logical values are replaced, and the 16 values are
          // packed again under a fresh shared exponent.
          auto* tb = reinterpret_cast<uint8_t*>(base_) + tile * tile_bytes(dtype_);
          uint8_t* exponent = tb + bfp_exponent_offset(face, fr);
          uint8_t* mantissas = tb + bfp_mantissa_offset(dtype_, face, fr);
          float tmp[kBfpRowElems];
          if (valid < kBfpRowElems) decode_bfp_row(dtype_, *exponent, mantissas, tmp);
          std::memcpy(tmp, s, static_cast<std::size_t>(valid) * sizeof(float));
          *exponent = encode_bfp_row(dtype_, tmp, mantissas);
          break;
        }
      }
    }
  }
}

}  // namespace ttt::ops
