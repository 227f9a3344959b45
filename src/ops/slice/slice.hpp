// select_rows: picks one row per user from [batch, seq, width] into [batch, 1, width]
// (the last prompt position each user needs logits for). Any float dtype and layout;
// values copy exactly when the formats match, else convert as store_float does.
#pragma once

#include <span>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct SelectRowsArgs {
  TensorSpec input;  // [batch, seq, width]
};

struct SelectRowsOp {
  static constexpr const char* kName = "select_rows";
  static void validate(const SelectRowsArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const SelectRowsArgs& args, const OpConfig& config);
  // rows[b] is the row (0 <= rows[b] < seq) taken from user b.
  static void run(const SelectRowsArgs& args, const Tensor& input, std::span<const int32_t> rows, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const SelectRowsArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
