#include "ttt/modules/common.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"

namespace ttt {

namespace {

const WeightSlice* slice_of(const WeightRequest& r, std::size_t i) {
  if (r.slices.empty()) return nullptr;
  TTT_CHECK(r.slices.size() == r.sources.size(), InvalidConfig, "weight '{}': {} slices for {} source tensors", r.name,
            r.slices.size(), r.sources.size());
  const WeightSlice& s = r.slices[i];
  TTT_CHECK(s.axis == 0 || s.axis == 1, InvalidConfig, "weight '{}': slice axis {} (0: outputs, 1: inputs)", r.name,
            s.axis);
  TTT_CHECK(s.begin >= 0 && s.size > 0, InvalidConfig, "weight '{}': slice [{}, +{}) is empty or negative", r.name,
            s.begin, s.size);
  return &s;
}

// The source's [out, in] (or [out]) shape after its slice.
Shape sliced_shape(const Shape& sh, const WeightSlice* s, const WeightRequest& r) {
  if (!s) return sh;
  TTT_CHECK(s->axis < sh.rank(), InvalidConfig, "weight '{}': slice axis {} on a source of shape {}", r.name, s->axis,
            sh.str());
  Shape out = sh;
  out[s->axis] = s->size;
  return out;
}

// Copies the slice of `part` (source shape `sh`), zero past the source's end.
std::vector<float> take_slice(const std::vector<float>& part, const Shape& sh, const WeightSlice& s) {
  const int64_t rows = sh[0], cols = sh.rank() == 2 ? sh[1] : 1;
  std::vector<float> out;
  if (s.axis == 0) {
    out.assign(static_cast<std::size_t>(s.size * cols), 0.0f);
    const int64_t n = std::clamp<int64_t>(rows - s.begin, 0, s.size);
    std::copy_n(part.begin() + s.begin * cols, n * cols, out.begin());
  } else {
    out.assign(static_cast<std::size_t>(rows * s.size), 0.0f);
    const int64_t n = std::clamp<int64_t>(cols - s.begin, 0, s.size);
    for (int64_t o = 0; o < rows; ++o)
      std::copy_n(part.begin() + o * cols + s.begin, n, out.begin() + o * s.size);
  }
  return out;
}

}  // namespace

std::string describe_slices(const WeightRequest& r) {
  std::string out;
  for (std::size_t i = 0; i < r.slices.size(); ++i) {
    const WeightSlice* s = slice_of(r, i);
    out += fmt::format("{}{}:axis{}[{},+{})", out.empty() ? "" : ",", r.sources[i], s->axis, s->begin, s->size);
  }
  return out;
}

Shape weight_shape(const WeightSource& source, const WeightRequest& r) {
  TTT_CHECK(!r.sources.empty(), InvalidConfig, "weight '{}' names no source tensor", r.name);
  int64_t out = 0, in = -1;
  bool vector = false;
  for (std::size_t i = 0; i < r.sources.size(); ++i) {
    const std::string& s = r.sources[i];
    TTT_CHECK(source.has(s), ModelFormat, "weight '{}' needs source tensor '{}', which the checkpoint lacks", r.name, s);
    const Shape sh = sliced_shape(source.shape(s), slice_of(r, i), r);
    if (sh.rank() == 1) {
      out += sh[0];
      vector = true;
      continue;
    }
    TTT_CHECK(sh.rank() == 2, ModelFormat, "weight '{}': source '{}' has shape {}, expected [out, in]", r.name, s,
              sh.str());
    TTT_CHECK(in < 0 || sh[1] == in, ModelFormat, "weight '{}': source '{}' has {} inputs, the others {}", r.name, s,
              sh[1], in);
    in = sh[1];
    out += sh[0];
  }
  if (vector) return Shape{out};
  if (r.column_shards > 1) {
    const int64_t s = r.column_shards;
    TTT_CHECK(r.transpose && out % (s * kTileSize) == 0, InvalidConfig,
              "weight '{}': {} output columns do not split into {} column shards of whole tiles{}", r.name, out, s,
              r.transpose ? "" : " (column shards need the transposed [in, out] weight)");
    return Shape{s, in, out / s};
  }
  return r.transpose ? Shape{in, out} : Shape{out, in};
}

Tensor convert_weight(const WeightSource& source, const WeightRequest& r, const DeviceSpec& device) {
  (void)device;
  WeightRequest whole = r;
  whole.column_shards = 1;
  const Shape shape = weight_shape(source, whole);
  const Shape stored = weight_shape(source, r);
  std::vector<float> values;
  values.reserve(static_cast<std::size_t>(shape.volume()));
  for (std::size_t i = 0; i < r.sources.size(); ++i) {
    const auto part = source.load(r.sources[i]);
    if (const WeightSlice* s = slice_of(r, i)) {
      const auto sliced = take_slice(part, source.shape(r.sources[i]), *s);
      values.insert(values.end(), sliced.begin(), sliced.end());
    } else {
      values.insert(values.end(), part.begin(), part.end());
    }
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
  if (stored.rank() == 3) {
    // [in, out] -> [shards, in, out / shards]: shard s holds columns s * width ...
    const int64_t shards = stored[0], in = stored[1], width = stored[2];
    std::vector<float> t(values.size());
    for (int64_t s = 0; s < shards; ++s)
      for (int64_t i = 0; i < in; ++i)
        std::copy_n(values.begin() + i * shards * width + s * width, width, t.begin() + (s * in + i) * width);
    values.swap(t);
  }
  return from_float(values, TensorSpec{r.name, stored, r.dtype, r.layout, {}});
}

Layout weight_layout(DataType dtype, const DeviceSpec& device) {
  if (device.is_ttnn() || dtype != DataType::FLOAT32) return Layout::TILE;
  return Layout::ROW_MAJOR;
}

int64_t matmul_weight_shards(DataType dtype, int64_t n, const DeviceSpec& device) {
  if (weight_layout(dtype, device) != Layout::TILE || device.is_ttnn()) return 1;
  return n > kTileSize && n % kTileSize == 0 ? n / kTileSize : 1;
}

TensorSpec matmul_weight_spec(std::string name, int64_t k, int64_t n, DataType dtype, const DeviceSpec& device) {
  const int64_t s = matmul_weight_shards(dtype, n, device);
  const Shape shape = s > 1 ? Shape{s, k, n / s} : Shape{k, n};
  return TensorSpec{std::move(name), shape, dtype, weight_layout(dtype, device), kDramInterleaved};
}

int64_t prefill_matmul_rows(int64_t batch, int64_t seq, const DeviceSpec& device) {
  return batch * (device.is_ttnn() ? round_up(seq, kTileSize) : seq);
}

TensorSpec activation_spec(std::string name, Shape shape, const DeviceSpec& device) {
  if (device.is_ttnn()) return TensorSpec{std::move(name), shape, DataType::BFLOAT16, Layout::TILE, {}};
  return TensorSpec{std::move(name), shape, DataType::FLOAT32, Layout::ROW_MAJOR, {}};
}

}  // namespace ttt
