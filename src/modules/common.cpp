#include "ttt/modules/common.hpp"

#include <algorithm>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {

Shape weight_shape(const WeightSource& source, const WeightRequest& r) {
  TTT_CHECK(!r.sources.empty(), InvalidConfig, "weight '{}' names no source tensor", r.name);
  int64_t out = 0, in = -1;
  for (const auto& s : r.sources) {
    TTT_CHECK(source.has(s), ModelFormat, "weight '{}' needs source tensor '{}', which the checkpoint lacks", r.name, s);
    const Shape sh = source.shape(s);
    if (sh.rank() == 1) {
      out += sh[0];
      in = 1;
      continue;
    }
    TTT_CHECK(sh.rank() == 2, ModelFormat, "weight '{}': source '{}' has shape {}, expected [out, in]", r.name, s,
              sh.str());
    TTT_CHECK(in < 0 || sh[1] == in, ModelFormat, "weight '{}': source '{}' has {} inputs, the others {}", r.name, s,
              sh[1], in);
    in = sh[1];
    out += sh[0];
  }
  if (source.shape(r.sources.front()).rank() == 1) return Shape{out};
  return r.transpose ? Shape{in, out} : Shape{out, in};
}

Tensor convert_weight(const WeightSource& source, const WeightRequest& r, const DeviceSpec& device) {
  (void)device;
  const Shape shape = weight_shape(source, r);
  std::vector<float> values;
  values.reserve(static_cast<std::size_t>(shape.volume()));
  for (const auto& s : r.sources) {
    const auto part = source.load(s);
    values.insert(values.end(), part.begin(), part.end());
  }
  if (shape.rank() == 2 && r.transpose) {
    // values hold [out, in] row-major; write [in, out].
    const int64_t in = shape[0], out = shape[1];
    std::vector<float> t(values.size());
    // Blocked so both sides stay in cache: a plain loop strides through memory.
    constexpr int64_t kBlock = 64;
    for (int64_t o0 = 0; o0 < out; o0 += kBlock)
      for (int64_t i0 = 0; i0 < in; i0 += kBlock)
        for (int64_t o = o0; o < std::min(out, o0 + kBlock); ++o)
          for (int64_t i = i0; i < std::min(in, i0 + kBlock); ++i)
            t[static_cast<std::size_t>(i * out + o)] = values[static_cast<std::size_t>(o * in + i)];
    values.swap(t);
  }
  return from_float(values, TensorSpec{r.name, shape, r.dtype, r.layout, {}});
}

Layout weight_layout(DataType dtype, const DeviceSpec& device) {
  if (device.is_ttnn() || is_block_float(dtype)) return Layout::TILE;
  return Layout::ROW_MAJOR;
}

int64_t prefill_matmul_rows(int64_t batch, int64_t seq, const DeviceSpec& device) {
  return batch * (device.is_ttnn() ? round_up(seq, kTileSize) : seq);
}

TensorSpec activation_spec(std::string name, Shape shape, const DeviceSpec& device) {
  if (device.is_ttnn()) return TensorSpec{std::move(name), shape, DataType::BFLOAT16, Layout::TILE, {}};
  return TensorSpec{std::move(name), shape, DataType::FLOAT32, Layout::ROW_MAJOR, {}};
}

}  // namespace ttt
