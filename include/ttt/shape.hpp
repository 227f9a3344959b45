// Shapes: a short list of extents. The padded shape of a TILE tensor rounds the last
// two dims up to multiples of 32; nothing else is ever padded.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "ttt/dtype.hpp"

namespace ttt {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  template <typename It>
  Shape(It begin, It end) {
    for (; begin != end; ++begin) push_back(static_cast<int64_t>(*begin));
  }

  int rank() const { return rank_; }
  // Negative indices count from the back, as in Python.
  int64_t operator[](int i) const { return dims_[normalize(i)]; }
  int64_t& operator[](int i) { return dims_[normalize(i)]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  void push_back(int64_t d);

  int64_t volume() const;
  // Product of all dims but the last one (the rows of a 2-D view).
  int64_t rows() const;
  int64_t cols() const { return rank_ ? dims_[rank_ - 1] : 1; }

  bool operator==(const Shape& o) const;
  std::string str() const;  // "[1, 32, 2048]"

 private:
  int normalize(int i) const;
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
inline int64_t ceil_div(int64_t v, int64_t d) { return (v + d - 1) / d; }

// The shape as stored: TILE pads the last two dims to 32 (a rank-1 shape is one row).
Shape padded_shape(const Shape& logical, Layout layout);

// Bytes a tensor of this logical shape occupies in this format and layout.
// Block floats require TILE layout (ShapeMismatch/InvalidConfig otherwise).
int64_t storage_bytes(const Shape& logical, DataType dtype, Layout layout);

}  // namespace ttt
