// Rotary position embedding in the Hugging Face "rotate-half" layout: element i pairs with
// element i + head_dim/2, and for position p
//   out[i]          = x[i] cos(p f_i) - x[i + h] sin(p f_i)
//   out[i + h]      = x[i + h] cos(p f_i) + x[i] sin(p f_i),      h = head_dim / 2.
// Frequencies f_i = theta^(-2i/head_dim), optionally adjusted by Llama 3 rope scaling
// (transformers' rope_type "llama3"). The cos/sin tables are built once per op instance
// (RotaryTables, at setup, for max_seq_len positions) and passed to every call.
//
// Shapes follow TTNN's rotary_embedding_llama: prefill q or k [batch, heads, seq, head_dim]
// with positions start_pos + s; decode [1, batch, heads, head_dim] with one position per user.
//
// Head dims below a tile multiple run with the tile padding: on ttnn devices this emulation
// keeps the input and output in TILE layout with head_dim zero-padded to 32, rotates the
// logical head_dim values (pairs i, i + head_dim/2), leaves the padded columns zero, and the
// cost model counts the padded tile bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ops/op_common.hpp"
#include "ttt/enum.hpp"

namespace ttt::ops {

// transformers' rope_scaling for rope_type "llama3".
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct RopeParams {
  double theta = 10000.0;
  std::optional<Llama3RopeScaling> llama3;
};

// head_dim / 2 inverse frequencies, in double. InvalidConfig on impossible parameters.
std::vector<double> rope_inv_freq(int64_t head_dim, const RopeParams& params);

// cos and sin of p * f_i for p < max_seq_len, i < head_dim / 2 (row-major [p][i]), computed
// in double and stored as float.
struct RotaryTables {
  int64_t head_dim = 0;
  int64_t max_seq_len = 0;
  std::vector<float> cos;
  std::vector<float> sin;

  static RotaryTables build(int64_t head_dim, int64_t max_seq_len, const RopeParams& params);
};

TTT_ENUM(RotaryMode, PREFILL, DECODE)

struct RotaryArgs {
  TensorSpec input;  // prefill [batch, heads, seq, head_dim]; decode [1, batch, heads, head_dim]
  RotaryMode mode = RotaryMode::PREFILL;
  int64_t max_seq_len = 0;  // positions the tables cover
};

struct RotaryOp {
  static constexpr const char* kName = "rotary";
  static void validate(const RotaryArgs& args, const OpConfig& config, const DeviceSpec& device);
  static TensorSpec output_spec(const RotaryArgs& args, const OpConfig& config);
  // Row s of every (batch, head) gets position start_pos + s. `out` may be `x` itself.
  static void run_prefill(const RotaryArgs& args, const RotaryTables& tables, const Tensor& x, int64_t start_pos,
                          Tensor& out, const OpConfig& config, ExecContext& ctx);
  // User b gets position positions[b]. `out` may be `x` itself.
  static void run_decode(const RotaryArgs& args, const RotaryTables& tables, const Tensor& x,
                         std::span<const int32_t> positions, Tensor& out, const OpConfig& config, ExecContext& ctx);
  static Cost cost(const RotaryArgs& args, const OpConfig& config, const DeviceSpec& device);
};

}  // namespace ttt::ops
