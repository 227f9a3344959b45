// Host data formats, bit for bit as TTNN stores them: bfloat16, the tile layout, and
// the block floats BFLOAT8_B / BFLOAT4_B. docs/formats.md gives each rule and its source.
//
// Tile layout. A 32x32 tile is four 16x16 faces (f0 top-left, f1 top-right, f2
// bottom-left, f3 bottom-right), each row-major; tiles follow one another row-major
// across each 2-D slice, and the slices (all leading dims) follow one another. Only the
// last two dims are padded, to multiples of 32, with zeros. A rank-1 shape [n] is one
// row ([1, n]); a rank-0 shape is one element.
//
// Block floats. One face row (16 values) shares one 8-bit exponent E; an element is a
// sign bit and an explicit magnitude m of 7 (bfp8) or 3 (bfp4) bits whose leading 1 is
// stored. value = (-1)^s * m * 2^(E - 127 - (bits - 1)). A tile is 64 exponent bytes
// (face 0 rows 0..15, then faces 1, 2, 3), then the magnitudes face by face, row by row.
// Within a face row the codes are packed into little-endian u32 words, element 0 in the
// lowest bits: one byte per element for bfp8, two elements per byte (element 2k in the
// low nibble) for bfp4.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ttt/dtype.hpp"
#include "ttt/error.hpp"
#include "ttt/shape.hpp"
#include "ttt/tensor.hpp"

namespace ttt {

static_assert(std::endian::native == std::endian::little, "the TTNN byte layouts assume a little-endian host");

// ---------------------------------------------------------------------------------------
// bfloat16
// ---------------------------------------------------------------------------------------

// Round to nearest, ties to even: (u + 0x7FFF + ((u >> 16) & 1)) >> 16. Every NaN becomes
// 0x7FC0; infinities and overflow to infinity follow from the rounding.
constexpr uint16_t float_to_bfloat16(float value) {
  const uint32_t u = std::bit_cast<uint32_t>(value);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

constexpr float bfloat16_to_float(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

// Whole arrays; the spans must have equal sizes (ShapeMismatch otherwise).
void float_to_bfloat16(std::span<const float> in, std::span<uint16_t> out);
void bfloat16_to_float(std::span<const uint16_t> in, std::span<float> out);

// ---------------------------------------------------------------------------------------
// Tile layout
// ---------------------------------------------------------------------------------------

// Index of element (i, j) of a tile, 0 <= i, j < 32, in its stored order.
constexpr int64_t tile_element_index(int64_t i, int64_t j) {
  return ((i / kFaceSize) * 2 + j / kFaceSize) * (kFaceSize * kFaceSize) + (i % kFaceSize) * kFaceSize +
         (j % kFaceSize);
}

// A logical shape seen as `batch` row-major matrices of `height` x `width`, and the
// padded extents the tile layout stores.
struct TileGeometry {
  int64_t batch = 1;
  int64_t height = 1;
  int64_t width = 1;
  int64_t padded_height = kTileSize;
  int64_t padded_width = kTileSize;

  int64_t tile_rows() const { return padded_height / kTileSize; }
  int64_t tile_cols() const { return padded_width / kTileSize; }
  int64_t tiles() const { return batch * tile_rows() * tile_cols(); }
  int64_t logical_elements() const { return batch * height * width; }
  int64_t padded_elements() const { return tiles() * kTileElems; }
};

TileGeometry tile_geometry(const Shape& logical);

// One 16-element face row in stored order. `stored_row` counts face rows over the whole
// tensor (tile t, face f, row r -> t * 64 + f * 16 + r), so its elements sit at
// stored_row * 16 in tile order. Its first `valid` elements (0..16) come from the
// row-major logical array starting at `logical_offset` (meaningless when valid == 0);
// the rest are padding.
struct FaceRow {
  int64_t stored_row = 0;
  int64_t logical_offset = 0;
  int valid = 0;
};

// Calls fn(const FaceRow&) for every face row of the tiled tensor, in stored order,
// padding rows included (with valid == 0).
template <typename Fn>
void for_each_face_row(const TileGeometry& g, Fn&& fn) {
  FaceRow row;
  for (int64_t b = 0; b < g.batch; ++b) {
    const int64_t slice = b * g.height * g.width;
    for (int64_t tr = 0; tr < g.tile_rows(); ++tr) {
      for (int64_t tc = 0; tc < g.tile_cols(); ++tc) {
        for (int64_t f = 0; f < 4; ++f) {
          const int64_t j0 = tc * kTileSize + (f % 2) * kFaceSize;
          const int64_t cols = g.width - j0 < 0 ? 0 : (g.width - j0 > kFaceSize ? kFaceSize : g.width - j0);
          for (int64_t r = 0; r < kFaceSize; ++r, ++row.stored_row) {
            const int64_t i = tr * kTileSize + (f / 2) * kFaceSize + r;
            row.valid = i < g.height ? static_cast<int>(cols) : 0;
            row.logical_offset = slice + i * g.width + j0;
            fn(static_cast<const FaceRow&>(row));
          }
        }
      }
    }
  }
}

// Element-size-generic tilize/untilize. `src`/`dst` hold logical.volume() elements in
// row-major order on the logical side and padded_shape(logical, TILE).volume() elements
// on the tiled side. tilize writes zeros into the padding; untilize drops it.
void tilize(const void* row_major, void* tiled, const Shape& logical, std::size_t element_bytes);
void untilize(const void* tiled, void* row_major, const Shape& logical, std::size_t element_bytes);

template <typename T>
void tilize(std::span<const T> row_major, std::span<T> tiled, const Shape& logical) {
  const TileGeometry g = tile_geometry(logical);
  TTT_CHECK(static_cast<int64_t>(row_major.size()) == g.logical_elements(), ShapeMismatch,
            "tilize: shape {} has {} elements; the row-major input has {}", logical.str(), g.logical_elements(),
            row_major.size());
  TTT_CHECK(static_cast<int64_t>(tiled.size()) == g.padded_elements(), ShapeMismatch,
            "tilize: shape {} tiles to {} elements; the output has room for {}", logical.str(), g.padded_elements(),
            tiled.size());
  tilize(row_major.data(), tiled.data(), logical, sizeof(T));
}

template <typename T>
std::vector<T> tilize(std::span<const T> row_major, const Shape& logical) {
  std::vector<T> out(static_cast<std::size_t>(tile_geometry(logical).padded_elements()));
  tilize(row_major, std::span<T>(out), logical);
  return out;
}

template <typename T>
void untilize(std::span<const T> tiled, std::span<T> row_major, const Shape& logical) {
  const TileGeometry g = tile_geometry(logical);
  TTT_CHECK(static_cast<int64_t>(tiled.size()) == g.padded_elements(), ShapeMismatch,
            "untilize: shape {} tiles to {} elements; the tiled input has {}", logical.str(), g.padded_elements(),
            tiled.size());
  TTT_CHECK(static_cast<int64_t>(row_major.size()) == g.logical_elements(), ShapeMismatch,
            "untilize: shape {} has {} elements; the output has room for {}", logical.str(), g.logical_elements(),
            row_major.size());
  untilize(tiled.data(), row_major.data(), logical, sizeof(T));
}

template <typename T>
std::vector<T> untilize(std::span<const T> tiled, const Shape& logical) {
  std::vector<T> out(static_cast<std::size_t>(tile_geometry(logical).logical_elements()));
  untilize(tiled, std::span<T>(out), logical);
  return out;
}

// ---------------------------------------------------------------------------------------
// Block floats (BFLOAT8_B, BFLOAT4_B)
// ---------------------------------------------------------------------------------------

inline constexpr int kBfpRowElems = 16;         // values sharing one exponent (a face row)
inline constexpr int64_t kBfpExponentBytes = 64;  // 4 faces x 16 rows, at the start of a tile

// Bytes of magnitudes of one face row: 16 (bfp8) or 8 (bfp4).
constexpr int64_t bfp_row_bytes(DataType t) { return kBfpRowElems * (block_float_mantissa_bits(t) + 1) / 8; }

// Byte offsets inside one tile (add tile_index * tile_bytes(t) for a tiled tensor):
// the shared exponent of row r of face f, and the first magnitude byte of that row.
constexpr int64_t bfp_exponent_offset(int face, int row) { return face * kFaceSize + row; }
constexpr int64_t bfp_mantissa_offset(DataType t, int face, int row) {
  return kBfpExponentBytes + (face * kFaceSize + row) * bfp_row_bytes(t);
}

// One element, as the packer encodes it against a given shared exponent: returns
// sign << bits | magnitude (bits = 7 or 3). Inputs with a zero exponent field (zeros and
// denormals) give 0; the magnitude rounds to nearest even and saturates.
uint8_t encode_bfp_element(DataType t, float value, uint8_t shared_exp);

// Packs 16 values: returns the shared exponent (the largest exponent field among them)
// and writes bfp_row_bytes(t) bytes of codes to `mantissas`.
uint8_t encode_bfp_row(DataType t, const float* values, uint8_t* mantissas);

// Decodes one face row: 16 codes starting at `mantissas` with shared exponent
// `shared_exp`. Made for kernels: locate the row with bfp_exponent_offset and
// bfp_mantissa_offset, then decode.
void decode_bfp_row(DataType t, uint8_t shared_exp, const uint8_t* mantissas, float* out);

// Whole tiles. `tiled` holds n * 1024 floats in tile order (see tilize); `bytes` holds
// n * tile_bytes(t) bytes. Sizes must match (ShapeMismatch otherwise).
void pack_bfp_tiles(DataType t, std::span<const float> tiled, std::span<uint8_t> bytes);
void unpack_bfp_tiles(DataType t, std::span<const uint8_t> bytes, std::span<float> tiled);

// ---------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------

// A host tensor in spec.dtype and spec.layout holding `values` (row-major, in the logical
// shape). FLOAT32, BFLOAT16, INT32 and UINT32 work in ROW_MAJOR and TILE; BFLOAT8_B and
// BFLOAT4_B in TILE only. Integer dtypes truncate toward zero and saturate; NaN gives 0.
Tensor from_float(std::span<const float> values, TensorSpec spec);
// The same into an existing tensor's storage (its dtype, layout and shape), padding
// included: nothing is allocated.
void from_float(std::span<const float> values, Tensor& tensor);

// The logical values of a host tensor, row-major, padding dropped.
std::vector<float> to_float(const Tensor& tensor);
void to_float(const Tensor& tensor, std::span<float> out);

}  // namespace ttt
