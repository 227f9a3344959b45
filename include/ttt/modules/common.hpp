// Shared pieces of the modules: compile shapes, weight loading, activation buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ttt/device.hpp"
#include "ttt/modules/module.hpp"
#include "ttt/tensor.hpp"
#include "ttt/weight_source.hpp"

namespace ttt {

// Positions: prefill starts at `start` for every user; decode gives one per user.
using Positions = std::span<const int32_t>;

// A weight as a module asks for it: Hugging Face source names (concatenated along the
// output dim when several: Q|K|V), transposed to TTNN's [in, out], stored in `dtype`.
// One chip's share of a source tensor (tensor parallel): `size` rows from `begin` along
// `axis` of the source's Hugging Face layout (0: output features, 1: inputs). Rows past
// the source's end read as zeros (a split padded to equal shares).
struct WeightSlice {
  int axis = 0;
  int64_t begin = 0;
  int64_t size = 0;
};

struct WeightRequest {
  std::string name;                  // "layers.0.attention.qkv_matmul.weight"
  std::vector<std::string> sources;  // local names in the module's WeightSource
  bool transpose = true;             // [out, in] -> [in, out]
  DataType dtype = DataType::FLOAT32;
  Layout layout = Layout::ROW_MAJOR;
  std::vector<WeightSlice> slices;   // empty: whole sources; else one per source
  int64_t column_shards = 1;         // > 1: stored as [shards, in, out / shards] (matmul_weight_spec)
};

// The slices of a request as text, for cache keys ("" when it takes whole sources).
std::string describe_slices(const WeightRequest& request);

// Converts reference weights into device tensors. The default converts in memory; the
// model installs one backed by the on-disk weight cache.
using WeightLoader = std::function<Tensor(const WeightSource&, const WeightRequest&, const DeviceSpec&)>;

// Reads, fuses, transposes and converts a weight (no cache).
Tensor convert_weight(const WeightSource& source, const WeightRequest& request, const DeviceSpec& device);
// The logical shape a request produces ([in, out] when transposed).
Shape weight_shape(const WeightSource& source, const WeightRequest& request);
// The layout a weight is stored in: TILE on Tenstorrent targets and for bfloat16 and the
// block floats; row-major fp32 on cpu (oneDNN's fp32 GEMM reads it).
Layout weight_layout(DataType dtype, const DeviceSpec& device);
// Column shards of a matmul weight [k, n] on the host: tiled weights (bfloat16 and block
// floats on cpu) are stored as column panels, shards one tile wide ([n / 32, k, 32]), so
// that a panel's K tiles lie one after another and any run of whole panels, the columns
// one GEMV thread takes, is one contiguous stretch whatever the thread count; else 1
// (ttnn devices, row-major weights, n not whole tiles, one tile column).
int64_t matmul_weight_shards(DataType dtype, int64_t n, const DeviceSpec& device);
// The stored spec of a matmul weight [k, n]: [k, n], or [shards, k, n / shards].
TensorSpec matmul_weight_spec(std::string name, int64_t k, int64_t n, DataType dtype, const DeviceSpec& device);

// Output rows of a prefill matmul over x [batch, seq, k], as the default configs must
// count them: on Tenstorrent targets every user's rows are padded to whole tiles.
int64_t prefill_matmul_rows(int64_t batch, int64_t seq, const DeviceSpec& device);

// Activation layout and dtype of a module boundary on this device.
TensorSpec activation_spec(std::string name, Shape shape, const DeviceSpec& device);

}  // namespace ttt
