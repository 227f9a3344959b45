#include "ttt/shape.hpp"

#include <fmt/format.h>

#include "ttt/error.hpp"

namespace ttt {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  TTT_CHECK(rank_ < kMaxRank, ShapeMismatch, "shape rank exceeds {} dims", kMaxRank);
  TTT_CHECK(d >= 0, ShapeMismatch, "shape dim {} is negative ({})", rank_, d);
  dims_[rank_++] = d;
}

int Shape::normalize(int i) const {
  int j = i < 0 ? i + rank_ : i;
  TTT_CHECK(j >= 0 && j < rank_, ShapeMismatch, "dim index {} out of range for rank-{} shape {}", i, rank_, str());
  return j;
}

int64_t Shape::volume() const {
  int64_t v = 1;
  for (int i = 0; i < rank_; ++i) v *= dims_[i];
  return v;
}

int64_t Shape::rows() const {
  int64_t v = 1;
  for (int i = 0; i + 1 < rank_; ++i) v *= dims_[i];
  return v;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(begin(), end(), ", ")); }

Shape padded_shape(const Shape& logical, Layout layout) {
  if (layout == Layout::ROW_MAJOR) return logical;
  Shape p = logical;
  if (p.rank() == 0) return Shape{kTileSize, kTileSize};
  if (p.rank() == 1) {
    // A vector is one row of a [1, n] matrix.
    return Shape{kTileSize, round_up(p[0], kTileSize)};
  }
  p[-1] = round_up(p[-1], kTileSize);
  p[-2] = round_up(p[-2], kTileSize);
  return p;
}

int64_t storage_bytes(const Shape& logical, DataType dtype, Layout layout) {
  if (is_block_float(dtype)) {
    TTT_CHECK(layout == Layout::TILE, InvalidConfig,
              "{} exists only in TILE layout (got {}); use TILE or a non-block dtype", to_string(dtype),
              to_string(layout));
  }
  Shape p = padded_shape(logical, layout);
  if (layout == Layout::TILE) return p.volume() / kTileElems * tile_bytes(dtype);
  return p.volume() * element_bytes(dtype);
}

}  // namespace ttt
