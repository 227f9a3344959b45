// Embedding lookup (ttnn.embedding): token ids -> rows of a [vocab, hidden] table.
//
// ids: INT32 or UINT32 tensor (ROW_MAJOR or TILE) of any rank, usually [batch, seq], or a
// span of int32 ids with that shape. Output: ids.shape + [hidden], in the config's dtype
// and layout. The table is ROW_MAJOR, FLOAT32 or BFLOAT16 on cpu, BFLOAT16 on ttnn devices
// (ttnn keeps embedding tables as row-major bf16 sticks). Rows are copied, converted only
// when the output dtype differs. An id outside [0, vocab) is an InvalidConfig error naming
// the id, its position and the vocab size; nothing is written then.
#pragma once

#include <cstdint>
#include <span>

#include "ops/op_common.hpp"

namespace ttt::ops {

struct EmbeddingArgs {
  TensorSpec ids;    // [batch, seq]; for the span overload only the shape counts
  TensorSpec table;  // [vocab, hidden]
};

struct EmbeddingOp {
  static void validate(const EmbeddingArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const EmbeddingArgs& args, const OpConfig& config);
  static void run(const EmbeddingArgs& args, const Tensor& ids, const Tensor& table, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  // ids row-major in args.ids.shape.
  static void run(const EmbeddingArgs& args, std::span<const int32_t> ids, const Tensor& table, Tensor& out,
                  const OpConfig& config, ExecContext& ctx);
  static Cost cost(const EmbeddingArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
