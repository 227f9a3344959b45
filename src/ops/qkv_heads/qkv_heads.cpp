#include "ops/qkv_heads/qkv_heads.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/sdpa/attention_common.hpp"

namespace ttt::ops {
namespace {

constexpr int kWorkspaceSlot = 7;
constexpr int64_t kRowBlock = 32;
// nlp_*_decode: at most 32 users and 32 (padded) heads per user.
constexpr int64_t kMaxDecodeUsers = 32;
constexpr int64_t kMaxDecodeHeads = 32;

std::string base_name(const OpConfig& config, const char* op) {
  return config.op_name.empty() ? std::string(op) : config.op_name;
}

void check_positive_shape(const char* op, const TensorSpec& t, int rank, const char* layout) {
  TTT_CHECK(t.shape.rank() == rank, ShapeMismatch, "{}: input has shape {} (rank {}); expected {}", op, t.shape.str(),
            t.shape.rank(), layout);
  for (int64_t d : t.shape)
    TTT_CHECK(d > 0, ShapeMismatch, "{}: input has shape {} with an empty dimension; every extent must be positive", op,
              t.shape.str());
}

// Data movement on a device keeps the input's format: the output config must name it.
void check_device_io(const char* op, const TensorSpec& in, const OpConfig& config,
                     std::initializer_list<DataType> dtypes) {
  check_dtype_in(op, "input", in.dtype, dtypes);
  TTT_CHECK(in.layout == Layout::TILE, InvalidConfig, "{}: input is in {} layout (input.layout); ttnn takes TILE", op,
            to_string(in.layout));
  TTT_CHECK(config.dtype == in.dtype && config.layout == Layout::TILE, InvalidConfig,
            "{}: output {} {} (dtype, layout) differs from the input's {} TILE; this op moves data and keeps its format",
            op, to_string(config.dtype), to_string(config.layout), to_string(in.dtype));
}

void check_create(const char* op, const CreateQkvHeadsArgs& a, bool decode, const OpConfig& config,
                  const DeviceSpec& device) {
  check_positive_shape(op, a.input, 3,
                       decode ? "[1, batch, (num_heads + 2 num_kv_heads) head_dim]"
                              : "[batch, seq, (num_heads + 2 num_kv_heads) head_dim]");
  TTT_CHECK(a.num_heads > 0 && a.num_kv_heads > 0 && a.head_dim > 0, InvalidConfig,
            "{}: num_heads {}, num_kv_heads {} and head_dim {} must be positive", op, a.num_heads, a.num_kv_heads,
            a.head_dim);
  TTT_CHECK(a.num_heads >= a.num_kv_heads, InvalidConfig,
            "{}: num_heads {} is smaller than num_kv_heads {}; query heads must be at least as many as kv heads", op,
            a.num_heads, a.num_kv_heads);
  const int64_t width = (a.num_heads + 2 * a.num_kv_heads) * a.head_dim;
  TTT_CHECK(a.input.shape[2] == width, ShapeMismatch,
            "{}: input width {} (input.shape[2]) does not match (num_heads {} + 2 x num_kv_heads {}) x head_dim {} = {}",
            op, a.input.shape[2], a.num_heads, a.num_kv_heads, a.head_dim, width);
  TTT_CHECK(!decode || a.input.shape[0] == 1, ShapeMismatch,
            "{}: decode input has shape {}; expected [1, batch, width] (input.shape[0] = 1)", op, a.input.shape.str());
  const Shape q_shape = decode ? Shape{1, a.input.shape[1], a.num_heads, a.head_dim}
                               : Shape{a.input.shape[0], a.num_heads, a.input.shape[1], a.head_dim};
  attn::check_output_config(op, config, device, q_shape);
  if (!device.is_ttnn()) {
    check_dtype_in(op, "input", a.input.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    return;
  }
  if (!decode) {
    check_device_io(op, a.input, config, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B});
    return;
  }
  check_device_io(op, a.input, config, {DataType::FLOAT32, DataType::BFLOAT16});
  const int64_t users = a.input.shape[1];
  TTT_CHECK(users <= kMaxDecodeUsers, InvalidConfig, "{}: batch {} (input.shape[1]) exceeds the 32 users decode supports",
            op, users);
  TTT_CHECK(a.num_heads <= kMaxDecodeHeads, InvalidConfig, "{}: num_heads {} exceeds the 32 heads decode supports", op,
            a.num_heads);
  TTT_CHECK(users <= device.grid.count(), InvalidConfig, "{}: batch {} needs a core per user; {} has {} cores", op,
            users, device.name, device.grid.count());
}

void check_concat(const char* op, const ConcatHeadsArgs& a, bool decode, const OpConfig& config,
                  const DeviceSpec& device) {
  check_positive_shape(op, a.input, 4, decode ? "[1, batch, num_heads, head_dim]" : "[batch, num_heads, seq, head_dim]");
  TTT_CHECK(!decode || a.input.shape[0] == 1, ShapeMismatch,
            "{}: decode input has shape {}; expected [1, batch, num_heads, head_dim] (input.shape[0] = 1)", op,
            a.input.shape.str());
  const Shape& s = a.input.shape;
  attn::check_output_config(op, config, device, decode ? Shape{1, s[1], s[2] * s[3]} : Shape{s[0], s[2], s[1] * s[3]});
  if (!device.is_ttnn()) {
    check_dtype_in(op, "input", a.input.dtype,
                   {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    return;
  }
  if (!decode) {
    check_device_io(op, a.input, config, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B});
    return;
  }
  check_device_io(op, a.input, config, {DataType::FLOAT32, DataType::BFLOAT16});
  TTT_CHECK(s[1] <= kMaxDecodeUsers, InvalidConfig, "{}: batch {} (input.shape[1]) exceeds the 32 users decode supports",
            op, s[1]);
  TTT_CHECK(s[2] <= kMaxDecodeHeads, InvalidConfig,
            "{}: num_heads {} (input.shape[2]) exceeds the 32 padded heads decode supports", op, s[2]);
}

Cost movement_cost(const TensorSpec& in, std::initializer_list<const TensorSpec*> outs, const DeviceSpec& device) {
  CostInputs c;
  attn::add_read(c, in.memory_config, stored_bytes(in));
  for (const TensorSpec* o : outs) attn::add_write(c, o->memory_config, stored_bytes(*o));
  c.math_dtype = in.dtype;
  return estimate_cost(c, device);
}

}  // namespace

// ---- create_qkv_heads ------------------------------------------------------------------

void CreateQkvHeadsOp::validate(const CreateQkvHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_create(kName, a, false, config, device);
}

QkvSpecs CreateQkvHeadsOp::output_specs(const CreateQkvHeadsArgs& a, const OpConfig& config) {
  const int64_t b = a.input.shape[0], s = a.input.shape[1];
  const std::string n = base_name(config, kName);
  return {attn::make_output_spec(n + ".q", Shape{b, a.num_heads, s, a.head_dim}, config),
          attn::make_output_spec(n + ".k", Shape{b, a.num_kv_heads, s, a.head_dim}, config),
          attn::make_output_spec(n + ".v", Shape{b, a.num_kv_heads, s, a.head_dim}, config)};
}

void CreateQkvHeadsOp::run(const CreateQkvHeadsArgs& a, const Tensor& input, Tensor& q, Tensor& k, Tensor& v,
                           const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  const int64_t b = a.input.shape[0], s = a.input.shape[1], width = a.input.shape[2], hd = a.head_dim;
  const int64_t nh = a.num_heads, nkv = a.num_kv_heads;
  attn::check_output_tensor(kName, q, Shape{b, nh, s, hd}, config);
  attn::check_output_tensor(kName, k, Shape{b, nkv, s, hd}, config);
  attn::check_output_tensor(kName, v, Shape{b, nkv, s, hd}, config);
  const TensorRows in(input), qr(q), kr(k), vr(v);
  const int64_t blocks_per_batch = ceil_div(s, kRowBlock);
  ctx.pool.parallel_for(
      b * blocks_per_batch,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(kRowBlock * (width + hd)), kWorkspaceSlot);
        float* gather = buf.data() + kRowBlock * width;
        for (int64_t blk = begin; blk < end; ++blk) {
          const int64_t bi = blk / blocks_per_batch, r0 = (blk % blocks_per_batch) * kRowBlock;
          const int64_t n = std::min(kRowBlock, s - r0);
          const float* src = in.read(bi, r0, n, buf.data());
          for (int64_t t = 0; t < nh + 2 * nkv; ++t) {
            const TensorRows& dst = t < nh ? qr : (t < nh + nkv ? kr : vr);
            const int64_t m = t < nh ? bi * nh + t : bi * nkv + (t < nh + nkv ? t - nh : t - nh - nkv);
            for (int64_t r = 0; r < n; ++r) {
              float* row = dst.direct() ? dst.row_ptr(m, r0 + r) : gather + r * hd;
              std::memcpy(row, src + r * width + t * hd, static_cast<std::size_t>(hd) * sizeof(float));
            }
            if (!dst.direct()) dst.write(m, r0, n, gather);
          }
        }
      },
      attn::op_threads(config, ctx));
}

Cost CreateQkvHeadsOp::cost(const CreateQkvHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const QkvSpecs o = output_specs(a, config);
  return movement_cost(a.input, {&o.q, &o.k, &o.v}, device);
}

// ---- create_qkv_heads_decode -----------------------------------------------------------

void CreateQkvHeadsDecodeOp::validate(const CreateQkvHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_create(kName, a, true, config, device);
}

QkvSpecs CreateQkvHeadsDecodeOp::output_specs(const CreateQkvHeadsArgs& a, const OpConfig& config) {
  const int64_t b = a.input.shape[1];
  const std::string n = base_name(config, kName);
  return {attn::make_output_spec(n + ".q", Shape{1, b, a.num_heads, a.head_dim}, config),
          attn::make_output_spec(n + ".k", Shape{1, b, a.num_kv_heads, a.head_dim}, config),
          attn::make_output_spec(n + ".v", Shape{1, b, a.num_kv_heads, a.head_dim}, config)};
}

void CreateQkvHeadsDecodeOp::run(const CreateQkvHeadsArgs& a, const Tensor& input, Tensor& q, Tensor& k, Tensor& v,
                                 const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  const int64_t b = a.input.shape[1], width = a.input.shape[2], hd = a.head_dim;
  const int64_t nh = a.num_heads, nkv = a.num_kv_heads;
  attn::check_output_tensor(kName, q, Shape{1, b, nh, hd}, config);
  attn::check_output_tensor(kName, k, Shape{1, b, nkv, hd}, config);
  attn::check_output_tensor(kName, v, Shape{1, b, nkv, hd}, config);
  const TensorRows in(input), qr(q), kr(k), vr(v);
  ctx.pool.parallel_for(
      b,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(width), kWorkspaceSlot);
        for (int64_t u = begin; u < end; ++u) {
          // A user's fused row already holds its heads back to back: Q, then K, then V.
          const float* src = in.read(0, u, 1, buf.data());
          qr.write(u, 0, nh, src);
          kr.write(u, 0, nkv, src + nh * hd);
          vr.write(u, 0, nkv, src + (nh + nkv) * hd);
        }
      },
      attn::op_threads(config, ctx));
}

Cost CreateQkvHeadsDecodeOp::cost(const CreateQkvHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const QkvSpecs o = output_specs(a, config);
  return movement_cost(a.input, {&o.q, &o.k, &o.v}, device);
}

// ---- concat_heads ----------------------------------------------------------------------

void ConcatHeadsOp::validate(const ConcatHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_concat(kName, a, false, config, device);
}

TensorSpec ConcatHeadsOp::output_spec(const ConcatHeadsArgs& a, const OpConfig& config) {
  const Shape& s = a.input.shape;
  return attn::make_output_spec(base_name(config, kName), Shape{s[0], s[2], s[1] * s[3]}, config);
}

void ConcatHeadsOp::run(const ConcatHeadsArgs& a, const Tensor& input, Tensor& out, const OpConfig& config,
                        ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  const int64_t b = a.input.shape[0], nh = a.input.shape[1], s = a.input.shape[2], hd = a.input.shape[3];
  attn::check_output_tensor(kName, out, Shape{b, s, nh * hd}, config);
  const int64_t width = nh * hd;
  const TensorRows in(input), orows(out);
  const int64_t blocks_per_batch = ceil_div(s, kRowBlock);
  ctx.pool.parallel_for(
      b * blocks_per_batch,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(kRowBlock * (hd + width)), kWorkspaceSlot);
        for (int64_t blk = begin; blk < end; ++blk) {
          const int64_t bi = blk / blocks_per_batch, r0 = (blk % blocks_per_batch) * kRowBlock;
          const int64_t n = std::min(kRowBlock, s - r0);
          float* o = orows.direct() ? orows.row_ptr(bi, r0) : buf.data() + kRowBlock * hd;
          for (int64_t h = 0; h < nh; ++h) {
            const float* src = in.read(bi * nh + h, r0, n, buf.data());
            for (int64_t r = 0; r < n; ++r)
              std::memcpy(o + r * width + h * hd, src + r * hd, static_cast<std::size_t>(hd) * sizeof(float));
          }
          if (!orows.direct()) orows.write(bi, r0, n, o);
        }
      },
      attn::op_threads(config, ctx));
}

Cost ConcatHeadsOp::cost(const ConcatHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const TensorSpec o = output_spec(a, config);
  return movement_cost(a.input, {&o}, device);
}

// ---- concat_heads_decode ---------------------------------------------------------------

void ConcatHeadsDecodeOp::validate(const ConcatHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_concat(kName, a, true, config, device);
}

TensorSpec ConcatHeadsDecodeOp::output_spec(const ConcatHeadsArgs& a, const OpConfig& config) {
  const Shape& s = a.input.shape;
  return attn::make_output_spec(base_name(config, kName), Shape{1, s[1], s[2] * s[3]}, config);
}

void ConcatHeadsDecodeOp::run(const ConcatHeadsArgs& a, const Tensor& input, Tensor& out, const OpConfig& config,
                              ExecContext& ctx) {
  check_tensor_matches(kName, input, a.input);
  const int64_t b = a.input.shape[1], nh = a.input.shape[2], hd = a.input.shape[3];
  attn::check_output_tensor(kName, out, Shape{1, b, nh * hd}, config);
  const TensorRows in(input), orows(out);
  ctx.pool.parallel_for(
      b,
      [&](int64_t begin, int64_t end, int) {
        auto buf = scratch(static_cast<std::size_t>(nh * hd), kWorkspaceSlot);
        for (int64_t u = begin; u < end; ++u) orows.write(0, u, 1, in.read(u, 0, nh, buf.data()));
      },
      attn::op_threads(config, ctx));
}

Cost ConcatHeadsDecodeOp::cost(const ConcatHeadsArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const TensorSpec o = output_spec(a, config);
  return movement_cost(a.input, {&o}, device);
}

}  // namespace ttt::ops
