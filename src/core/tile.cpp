// Tile layout: the geometry of a tiled tensor and element-size-generic tilize/untilize.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {

TileGeometry tile_geometry(const Shape& logical) {
  TileGeometry g;
  const int rank = logical.rank();
  g.width = rank >= 1 ? logical[-1] : 1;
  g.height = rank >= 2 ? logical[-2] : 1;
  g.batch = 1;
  for (int d = 0; d + 2 < rank; ++d) g.batch *= logical[d];
  g.padded_height = round_up(g.height, kTileSize);
  g.padded_width = round_up(g.width, kTileSize);
  return g;
}

namespace {

// Face rows are 16 contiguous elements on both sides, so both directions copy `valid`
// elements per face row. kBytes > 0 fixes the element size at compile time so the copies
// inline; kBytes == 0 takes it from `bytes`.
template <std::size_t kBytes>
void tilize_rows(const std::byte* src, std::byte* dst, const TileGeometry& g, std::size_t bytes) {
  const std::size_t eb = kBytes ? kBytes : bytes;
  const auto stride = static_cast<int64_t>(eb);
  for_each_face_row(g, [&](const FaceRow& row) {
    std::byte* out = dst + row.stored_row * kFaceSize * stride;
    const std::size_t copied = static_cast<std::size_t>(row.valid) * eb;
    if (copied) std::memcpy(out, src + row.logical_offset * stride, copied);
    if (copied < kFaceSize * eb) std::memset(out + copied, 0, kFaceSize * eb - copied);
  });
}

template <std::size_t kBytes>
void untilize_rows(const std::byte* src, std::byte* dst, const TileGeometry& g, std::size_t bytes) {
  const std::size_t eb = kBytes ? kBytes : bytes;
  const auto stride = static_cast<int64_t>(eb);
  for_each_face_row(g, [&](const FaceRow& row) {
    if (row.valid == 0) return;
    std::memcpy(dst + row.logical_offset * stride, src + row.stored_row * kFaceSize * stride,
                static_cast<std::size_t>(row.valid) * eb);
  });
}

}  // namespace

void tilize(const void* row_major, void* tiled, const Shape& logical, std::size_t element_bytes) {
  TTT_CHECK(element_bytes > 0, InvalidConfig, "tilize: element size must be at least 1 byte (got {})",
            element_bytes);
  const TileGeometry g = tile_geometry(logical);
  const auto* src = static_cast<const std::byte*>(row_major);
  auto* dst = static_cast<std::byte*>(tiled);
  switch (element_bytes) {
    case 1: return tilize_rows<1>(src, dst, g, element_bytes);
    case 2: return tilize_rows<2>(src, dst, g, element_bytes);
    case 4: return tilize_rows<4>(src, dst, g, element_bytes);
    case 8: return tilize_rows<8>(src, dst, g, element_bytes);
    default: return tilize_rows<0>(src, dst, g, element_bytes);
  }
}

void untilize(const void* tiled, void* row_major, const Shape& logical, std::size_t element_bytes) {
  TTT_CHECK(element_bytes > 0, InvalidConfig, "untilize: element size must be at least 1 byte (got {})",
            element_bytes);
  const TileGeometry g = tile_geometry(logical);
  const auto* src = static_cast<const std::byte*>(tiled);
  auto* dst = static_cast<std::byte*>(row_major);
  switch (element_bytes) {
    case 1: return untilize_rows<1>(src, dst, g, element_bytes);
    case 2: return untilize_rows<2>(src, dst, g, element_bytes);
    case 4: return untilize_rows<4>(src, dst, g, element_bytes);
    case 8: return untilize_rows<8>(src, dst, g, element_bytes);
    default: return untilize_rows<0>(src, dst, g, element_bytes);
  }
}

}  // namespace ttt
