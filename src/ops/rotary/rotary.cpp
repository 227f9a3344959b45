#include "ops/rotary/rotary.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/sdpa/attention_common.hpp"

namespace ttt::ops {
namespace {

constexpr int kWorkspaceSlot = 7;
constexpr int64_t kRowBlock = 32;
// rotary_embedding_llama: head_dim at most 256, and above 128 without fp32 Dest.
constexpr int64_t kMaxHeadDim = 256;
constexpr int64_t kMaxHeadDimFp32Dest = 128;
constexpr int64_t kMaxDecodeHeads = 32;

// One row of head_dim values at one position. Pairs are read before either is written,
// so `out` may alias `x`. On a device, cos/sin are bf16 tensors and each product is packed
// to a bf16 intermediate before the add (rotary_embedding_llama compute kernel).
void rotate_row(const float* x, float* out, const float* c, const float* s, int64_t half,
                const attn::DeviceNumerics& nm) {
  if (!nm.emulate) {
    for (int64_t i = 0; i < half; ++i) {
      const float a = x[i], b = x[i + half];
      out[i] = a * c[i] - b * s[i];
      out[i + half] = b * c[i] + a * s[i];
    }
    return;
  }
  for (int64_t i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    const float ci = attn::round_bf16(c[i]), si = attn::round_bf16(s[i]);
    const bool f32 = nm.fp32_dest;
    out[i] = numerics::narrow_dest(attn::pack_bf16(a * ci, f32) + attn::pack_bf16(-b * si, f32), f32);
    out[i + half] = numerics::narrow_dest(attn::pack_bf16(b * ci, f32) + attn::pack_bf16(a * si, f32), f32);
  }
}

void check_tables(const RotaryArgs& a, const RotaryTables& tables) {
  TTT_CHECK(tables.head_dim == a.input.shape[3], ShapeMismatch,
            "rotary: tables were built for head_dim {}, the input has head_dim {} (input.shape[3]); build RotaryTables "
            "for head_dim {}",
            tables.head_dim, a.input.shape[3], a.input.shape[3]);
  TTT_CHECK(tables.max_seq_len >= a.max_seq_len, ShapeMismatch,
            "rotary: tables cover {} positions, fewer than max_seq_len {} (max_seq_len); build RotaryTables for {}",
            tables.max_seq_len, a.max_seq_len, a.max_seq_len);
}

}  // namespace

std::vector<double> rope_inv_freq(int64_t head_dim, const RopeParams& p) {
  TTT_CHECK(head_dim > 0 && head_dim % 2 == 0, InvalidConfig,
            "rotary: head_dim {} must be positive and even (rotate-half pairs i with i + head_dim/2)", head_dim);
  TTT_CHECK(p.theta > 0 && std::isfinite(p.theta), InvalidConfig, "rotary: rope_theta {} (theta) must be positive",
            p.theta);
  const int64_t half = head_dim / 2;
  std::vector<double> inv(static_cast<std::size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv[i] = 1.0 / std::pow(p.theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  if (!p.llama3) return inv;
  const Llama3RopeScaling& s = *p.llama3;
  TTT_CHECK(s.factor > 0 && s.low_freq_factor > 0 && s.high_freq_factor > s.low_freq_factor &&
                s.original_max_position_embeddings > 0,
            InvalidConfig,
            "rotary: llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
            "original_max_position_embeddings > 0; found factor {}, low_freq_factor {}, high_freq_factor {}, "
            "original_max_position_embeddings {} (rope_scaling)",
            s.factor, s.low_freq_factor, s.high_freq_factor, s.original_max_position_embeddings);
  // transformers modeling_rope_utils._compute_llama3_parameters: long wavelengths are
  // divided by `factor`, short ones kept, the band between interpolated smoothly.
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  for (double& f : inv) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_freq_wavelen) {
      f /= s.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = (1.0 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv;
}

RotaryTables RotaryTables::build(int64_t head_dim, int64_t max_seq_len, const RopeParams& params) {
  TTT_CHECK(max_seq_len > 0, InvalidConfig, "rotary: max_seq_len {} must be positive", max_seq_len);
  const std::vector<double> inv = rope_inv_freq(head_dim, params);
  const int64_t half = head_dim / 2;
  RotaryTables t;
  t.head_dim = head_dim;
  t.max_seq_len = max_seq_len;
  t.cos.resize(static_cast<std::size_t>(max_seq_len * half));
  t.sin.resize(t.cos.size());
  for (int64_t p = 0; p < max_seq_len; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(p) * inv[static_cast<std::size_t>(i)];
      t.cos[p * half + i] = static_cast<float>(std::cos(angle));
      t.sin[p * half + i] = static_cast<float>(std::sin(angle));
    }
  }
  return t;
}

void RotaryOp::validate(const RotaryArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const bool decode = a.mode == RotaryMode::DECODE;
  const char* layout = decode ? "[1, batch, heads, head_dim]" : "[batch, heads, seq, head_dim]";
  const Shape& s = a.input.shape;
  TTT_CHECK(s.rank() == 4, ShapeMismatch, "rotary: input has shape {} (rank {}); {} expects {}", s.str(), s.rank(),
            to_string(a.mode), layout);
  for (int64_t d : s)
    TTT_CHECK(d > 0, ShapeMismatch, "rotary: input has shape {} with an empty dimension; every extent must be positive",
              s.str());
  TTT_CHECK(!decode || s[0] == 1, ShapeMismatch,
            "rotary: decode input has shape {}; expected {} (input.shape[0] = 1)", s.str(), layout);
  const int64_t hd = s[3];
  TTT_CHECK(hd % 2 == 0, ShapeMismatch,
            "rotary: head_dim {} (input.shape[3]) is odd; rotate-half pairs (i, i + head_dim/2) need an even head_dim", hd);
  TTT_CHECK(a.max_seq_len > 0, InvalidConfig, "rotary: max_seq_len {} (max_seq_len) must be positive", a.max_seq_len);
  TTT_CHECK(decode || s[2] <= a.max_seq_len, ShapeMismatch,
            "rotary: seq {} (input.shape[2]) exceeds max_seq_len {} (max_seq_len); the tables cover positions [0, {})",
            s[2], a.max_seq_len, a.max_seq_len);
  attn::check_output_config(kName, config, device, s);
  if (!device.is_ttnn()) {
    check_dtype_in(kName, "input", a.input.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    return;
  }
  check_dtype_in(kName, "input", a.input.dtype, {DataType::BFLOAT16});
  TTT_CHECK(a.input.layout == Layout::TILE, InvalidConfig,
            "rotary: input is in {} layout (input.layout); rotary_embedding_llama takes TILE", to_string(a.input.layout));
  TTT_CHECK(config.dtype == a.input.dtype && config.layout == Layout::TILE, InvalidConfig,
            "rotary: output {} {} (dtype, layout) differs from the input's {} TILE; the device writes the input's format",
            to_string(config.dtype), to_string(config.layout), to_string(a.input.dtype));
  // A head_dim below a tile multiple runs in the tile padding of its last dim; only the
  // kernel's size limit applies.
  TTT_CHECK(hd <= kMaxHeadDim, InvalidConfig,
            "rotary: head_dim {} (input.shape[3]) exceeds 256, the most rotary_embedding_llama takes on ttnn devices; "
            "use a head_dim of at most 256",
            hd);
  TTT_CHECK(hd <= kMaxHeadDimFp32Dest || !config.compute_kernel_config.fp32_dest_acc_en, InvalidConfig,
            "rotary: head_dim {} > 128 needs fp32_dest_acc_en false (compute_kernel_config.fp32_dest_acc_en)", hd);
  if (decode) {
    TTT_CHECK(s[2] <= kMaxDecodeHeads, InvalidConfig,
              "rotary: decode takes at most 32 heads per user; found {} (input.shape[2])", s[2]);
    TTT_CHECK(s[1] <= device.grid.count(), InvalidConfig,
              "rotary: decode runs one user per core; batch {} (input.shape[1]) exceeds the {} cores of {}", s[1],
              device.grid.count(), device.name);
  }
}

TensorSpec RotaryOp::output_spec(const RotaryArgs& a, const OpConfig& config) {
  return attn::make_output_spec(config.op_name.empty() ? std::string(kName) : config.op_name, a.input.shape, config);
}

void RotaryOp::run_prefill(const RotaryArgs& a, const RotaryTables& tables, const Tensor& x, int64_t start_pos,
                           Tensor& out, const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(a.mode == RotaryMode::PREFILL, InvalidConfig, "rotary: run_prefill called with mode {} (mode)",
            to_string(a.mode));
  check_tensor_matches(kName, x, a.input);
  attn::check_output_tensor(kName, out, a.input.shape, config);
  check_tables(a, tables);
  const int64_t seq = a.input.shape[2], hd = a.input.shape[3], half = hd / 2;
  TTT_CHECK(start_pos >= 0 && start_pos + seq <= tables.max_seq_len, InvalidConfig,
            "rotary: positions [{}, {}) (start_pos + seq) leave the tables' range [0, {}) (max_seq_len)", start_pos,
            start_pos + seq, tables.max_seq_len);
  const attn::DeviceNumerics nm = attn::device_numerics(ctx.device.spec(), config);
  const TensorRows xr(x), orows(out);
  const int64_t blocks_per_matrix = ceil_div(seq, kRowBlock);
  ctx.pool.parallel_for(
      xr.matrices() * blocks_per_matrix,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(2 * kRowBlock * hd), kWorkspaceSlot);
        for (int64_t blk = begin; blk < end; ++blk) {
          const int64_t m = blk / blocks_per_matrix, r0 = (blk % blocks_per_matrix) * kRowBlock;
          const int64_t n = std::min(kRowBlock, seq - r0);
          const float* in = xr.read(m, r0, n, buf.data());
          float* o = orows.direct() ? orows.row_ptr(m, r0) : buf.data() + kRowBlock * hd;
          for (int64_t r = 0; r < n; ++r) {
            const int64_t p = start_pos + r0 + r;
            rotate_row(in + r * hd, o + r * hd, tables.cos.data() + p * half, tables.sin.data() + p * half, half,
                       nm);
          }
          if (!orows.direct()) orows.write(m, r0, n, o);
        }
      },
      attn::op_threads(config, ctx));
}

void RotaryOp::run_decode(const RotaryArgs& a, const RotaryTables& tables, const Tensor& x,
                          std::span<const int32_t> positions, Tensor& out, const OpConfig& config, ExecContext& ctx) {
  TTT_CHECK(a.mode == RotaryMode::DECODE, InvalidConfig, "rotary: run_decode called with mode {} (mode)",
            to_string(a.mode));
  check_tensor_matches(kName, x, a.input);
  attn::check_output_tensor(kName, out, a.input.shape, config);
  check_tables(a, tables);
  const int64_t batch = a.input.shape[1], heads = a.input.shape[2], hd = a.input.shape[3], half = hd / 2;
  TTT_CHECK(static_cast<int64_t>(positions.size()) == batch, ShapeMismatch,
            "rotary: {} positions given for a batch of {} (positions); pass one position per user", positions.size(),
            batch);
  for (std::size_t u = 0; u < positions.size(); ++u) {
    TTT_CHECK(positions[u] >= 0 && positions[u] < tables.max_seq_len, InvalidConfig,
              "rotary: position {} of user {} is outside the tables' range [0, {}) (positions)", positions[u], u,
              tables.max_seq_len);
  }
  const attn::DeviceNumerics nm = attn::device_numerics(ctx.device.spec(), config);
  const TensorRows xr(x), orows(out);
  ctx.pool.parallel_for(
      batch,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(2 * heads * hd), kWorkspaceSlot);
        for (int64_t u = begin; u < end; ++u) {
          const int64_t p = positions[static_cast<std::size_t>(u)];
          const float* in = xr.read(u, 0, heads, buf.data());
          float* o = orows.direct() ? orows.row_ptr(u, 0) : buf.data() + heads * hd;
          for (int64_t h = 0; h < heads; ++h)
            rotate_row(in + h * hd, o + h * hd, tables.cos.data() + p * half, tables.sin.data() + p * half, half,
                       nm);
          if (!orows.direct()) orows.write(u, 0, heads, o);
        }
      },
      attn::op_threads(config, ctx));
}

Cost RotaryOp::cost(const RotaryArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const Shape& s = a.input.shape;
  // A device works on whole tiles of the head dim (padded columns included).
  const int64_t hd = attn::compute_head_dim(s[3], device);
  const double elems = static_cast<double>(s.volume() / s[3] * hd);
  CostInputs in;
  in.vector_flops = 3.0 * elems;  // two products and a sum per value
  attn::add_read(in, a.input.memory_config, stored_bytes(a.input));
  // cos and sin rows: one per position (prefill) or per user (decode), bf16 tiles on a device.
  const double table_rows = a.mode == RotaryMode::PREFILL ? static_cast<double>(s[2]) : static_cast<double>(s[1]);
  const double table_bytes = device.is_ttnn() ? 2.0 : 4.0;
  attn::add_read(in, a.input.memory_config, 2.0 * table_rows * static_cast<double>(hd) * table_bytes);
  const TensorSpec out = output_spec(a, config);
  attn::add_write(in, out.memory_config, stored_bytes(out));
  in.math_dtype = device.is_ttnn() ? DataType::BFLOAT16 : DataType::FLOAT32;
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
