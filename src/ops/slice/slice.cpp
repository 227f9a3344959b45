#include "ops/slice/slice.hpp"

#include <cstring>

namespace ttt::ops {

void SelectRowsOp::validate(const SelectRowsArgs& args, const OpConfig& config, const DeviceSpec& device) {
  (void)device;
  TTT_CHECK(args.input.shape.rank() == 3, ShapeMismatch, "select_rows: input '{}' has shape {}; expected [batch, seq, width]",
            args.input.name, args.input.shape.str());
  TTT_CHECK(is_float(config.dtype), InvalidConfig, "select_rows: output dtype {} is not a float type (dtype)",
            to_string(config.dtype));
  TTT_CHECK(!is_block_float(config.dtype) || config.layout == Layout::TILE, InvalidConfig,
            "select_rows: output dtype {} needs TILE layout, got {} (layout)", to_string(config.dtype),
            to_string(config.layout));
}

TensorSpec SelectRowsOp::output_spec(const SelectRowsArgs& args, const OpConfig& config) {
  return TensorSpec{args.input.name + ".rows", Shape{args.input.shape[0], 1, args.input.shape[2]}, config.dtype,
                    config.layout, config.memory_config};
}

void SelectRowsOp::run(const SelectRowsArgs& args, const Tensor& input, std::span<const int32_t> rows, Tensor& out,
                       const OpConfig& config, ExecContext& ctx) {
  (void)ctx;
  check_tensor_matches(kName, input, args.input);
  check_tensor_matches(kName, out, output_spec(args, config));
  const int64_t batch = args.input.shape[0], seq = args.input.shape[1], width = args.input.shape[2];
  TTT_CHECK(static_cast<int64_t>(rows.size()) == batch, ShapeMismatch, "select_rows: {} row indices for {} users",
            rows.size(), batch);
  const std::span<const float> in = load_float(input, 0);
  std::span<float> o = output_staging(out, 1);
  for (int64_t b = 0; b < batch; ++b) {
    TTT_CHECK(rows[b] >= 0 && rows[b] < seq, InvalidConfig, "select_rows: row {} of user {} outside [0, {})", rows[b], b,
              seq);
    std::memcpy(o.data() + b * width, in.data() + (b * seq + rows[b]) * width, static_cast<std::size_t>(width) * sizeof(float));
  }
  store_float(o, out);
}

Cost SelectRowsOp::cost(const SelectRowsArgs& args, const OpConfig& config, const DeviceSpec& device) {
  CostInputs in;
  in.dram_read_bytes = static_cast<double>(output_spec(args, config).bytes());
  in.dram_write_bytes = in.dram_read_bytes;
  in.cores = 1;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
