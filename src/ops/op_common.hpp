// What every op shares: the execution context, float staging of operands, the
// checks at op boundaries, and the TTNN-facing helpers (padding, tile counts).
//
// The op contract (one folder per op under src/ops/<name>/):
//   struct XxxArgs { ... TensorSpecs of the inputs, op parameters ... };
//   struct XxxOp {
//     static void validate(const XxxArgs&, const OpConfig&, const DeviceSpec&);   // always on
//     static TensorSpec output_spec(const XxxArgs&, const OpConfig&);
//     static void run(<input tensors>, Tensor& out, const OpConfig&, ExecContext&);
//     static Cost cost(const XxxArgs&, const OpConfig&, const DeviceSpec&);
//   };
// validate() sees specs only, so configs are checked before any weight exists. run()
// checks its tensors against the specs it was validated with (cheap checks) and
// allocates nothing once its scratch has grown to size.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "ttt/cost_model.hpp"
#include "ttt/device.hpp"
#include "ttt/error.hpp"
#include "ttt/op_config.hpp"
#include "ttt/tensor.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::ops {

struct ExecContext {
  Device& device;
  ThreadPool& pool;
  int threads = 0;  // 0: the whole pool
};

// A per-thread scratch buffer of at least `n` floats; `slot` picks one of a few
// independent buffers. Grows on first use, then is reused: steady state allocates nothing.
std::span<float> scratch(std::size_t n, int slot = 0);

// Operand staging for kernels that compute in fp32: the logical values of `t`,
// row-major. For a FLOAT32 ROW_MAJOR tensor this is the tensor's own memory (no copy);
// otherwise the values are decoded into scratch `slot`.
std::span<const float> load_float(const Tensor& t, int slot);

// Writes fp32 row-major values into `out`, converting to its dtype and layout (which
// rounds exactly as TTNN's conversion does). A FLOAT32 ROW_MAJOR output is written directly.
void store_float(std::span<const float> values, Tensor& out);

// If `out` is FLOAT32 ROW_MAJOR, its memory; else scratch `slot` to fill and pass to store_float.
std::span<float> output_staging(Tensor& out, int slot);

// Always-on boundary checks with messages that print found and expected values.
void check_same_shape(std::string_view op, std::string_view what, const Shape& found, const Shape& expected);
void check_tensor_matches(std::string_view op, const Tensor& t, const TensorSpec& expected);
void check_dtype_in(std::string_view op, std::string_view what, DataType found, std::initializer_list<DataType> allowed);

// Bytes of a tensor spec as the device stores it (padding and format included).
double stored_bytes(const TensorSpec& spec);

}  // namespace ttt::ops
