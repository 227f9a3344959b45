#include "ops/typecast/typecast.hpp"

#include <cstring>
#include <limits>

#include "ops/eltwise/op_support.hpp"
#include "ops/eltwise/row_kernels.hpp"
#include "ops/layout/layout.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops {
namespace {

constexpr const char* kOp = "typecast";

bool is_int(DataType t) { return !is_float(t); }

// INT32 <-> UINT32 over the stored elements (padding zeros stay zeros), saturating.
void int_to_int(const uint32_t* in, uint32_t* out, int64_t n, DataType from, DataType to) {
  if (from == to) {
    std::memcpy(out, in, static_cast<std::size_t>(n) * sizeof(uint32_t));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (from == DataType::INT32) {
      const auto v = static_cast<int32_t>(in[i]);
      out[i] = v < 0 ? 0u : static_cast<uint32_t>(v);
    } else {
      out[i] = std::min<uint32_t>(in[i], static_cast<uint32_t>(std::numeric_limits<int32_t>::max()));
    }
  }
}

}  // namespace

void TypecastOp::validate(const TypecastArgs& args, const OpConfig& config, const DeviceSpec& device) {
  support::check_kernel_config(kOp, config, device, false);
  support::check_placement(kOp, "input", args.input, device);
  support::check_placement(kOp, "output", output_spec(args, config), device);
}

TensorSpec TypecastOp::output_spec(const TypecastArgs& args, const OpConfig& config) {
  return support::output_from_config(kOp, args.input.shape, config);
}

void TypecastOp::run(const TypecastArgs& args, const Tensor& input, Tensor& out, const OpConfig& config,
                     ExecContext& ctx) {
  check_tensor_matches(kOp, input, args.input);
  support::check_output(kOp, out, args.input.shape, config);
  const int threads = support::host_threads(config, ctx);
  const DataType from = input.dtype(), to = out.dtype();

  if (from == to && !is_block_float(from)) {
    relayout(input.raw(), out.raw(), input.shape(), static_cast<std::size_t>(element_bytes(from)), input.layout(),
             out.layout(), ctx.pool, threads);
    return;
  }
  if (is_int(from) && is_int(to)) {
    // Convert in the input's layout, then move the elements into the output's.
    const auto stored = static_cast<int64_t>(input.bytes() / 4);
    const bool same_layout = input.layout() == out.layout();
    auto* dst = same_layout ? out.data<uint32_t>() : reinterpret_cast<uint32_t*>(scratch(stored, 4).data());
    int_to_int(input.data<const uint32_t>(), dst, stored, from, to);
    if (!same_layout) relayout(dst, out.raw(), input.shape(), 4, input.layout(), out.layout(), ctx.pool, threads);
    return;
  }
  const bool rm_fast = input.layout() == Layout::ROW_MAJOR && out.layout() == Layout::ROW_MAJOR &&
                       (from == DataType::FLOAT32 || from == DataType::BFLOAT16) &&
                       (to == DataType::FLOAT32 || to == DataType::BFLOAT16);
  if (rm_fast) {
    const rows::RowKernels& k = rows::row_kernels();
    const rows::RowSource src = rows::row_source(input, 0);
    const rows::RowSink dst = rows::row_sink(out, 1);
    ctx.pool.parallel_for(
        input.shape().volume(),
        [&](int64_t i0, int64_t i1, int) { k.convert(src.at(i0), src.elem, dst.at(i0), dst.elem, i1 - i0); }, threads,
        rows::kParallelGrain);
    return;
  }
  store_float(load_float(input, 0), out);
}

Cost TypecastOp::cost(const TypecastArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  support::add_traffic(in, args.input, false);
  const TensorSpec out = output_spec(args, config);
  support::add_traffic(in, out, true);
  in.vector_flops = static_cast<double>(args.input.shape.volume());
  in.cores = support::row_op_cores(args.input, device);
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
