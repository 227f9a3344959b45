#include "ops/sdpa/sdpa.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "ops/kv_cache/tensor_rows.hpp"
#include "ops/sdpa/attention_common.hpp"
#include "ops/sdpa/flash.hpp"

namespace ttt::ops {
namespace {

using attn::FlashConfig;
using attn::FlashRows;

constexpr int kWorkspaceSlot = 7;
constexpr int64_t kCpuQChunk = 64;
constexpr int64_t kCpuKChunk = 256;
constexpr int64_t kTtnnDefaultChunk = 32;  // tt-metal: q/k chunk 32 without a program config

std::string divisors_of(int64_t n) {
  std::string out;
  for (int64_t d = 1; d <= n; ++d)
    if (n % d == 0) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return out;
}

void check_rank4(const TensorSpec& t, const char* what, const char* layout) {
  TTT_CHECK(t.shape.rank() == 4, ShapeMismatch, "sdpa: {} has shape {} (rank {}); expected {}", what, t.shape.str(),
            t.shape.rank(), layout);
  for (int64_t d : t.shape)
    TTT_CHECK(d > 0, ShapeMismatch, "sdpa: {} has shape {} with an empty dimension; every extent must be positive", what,
              t.shape.str());
}

// Circular-buffer bytes one core allocates for these chunk sizes, after tt-metal's
// sdpa_program_factory.cpp (intermediates in bf16 tiles of 2048 bytes; the causal mask in bfp4).
int64_t prefill_l1_bytes(const SdpaArgs& a, const OpConfig& config, int64_t qc, int64_t kc, int64_t cores) {
  const int64_t b = a.q.shape[0], nh = a.q.shape[1], s = a.q.shape[2], dht = ceil_div(a.q.shape[3], kTileSize);
  const int64_t sq_t = qc / kTileSize, sk_t = kc / kTileSize;
  const int64_t q_chunks = ceil_div(s, qc);
  const int64_t batch_par = std::min(b, cores);
  const int64_t nh_par = std::min(cores / batch_par, nh);
  const int64_t q_par = std::max<int64_t>(1, std::min(cores / (batch_par * nh_par), q_chunks));
  const int64_t q_buffers = ceil_div(q_chunks, q_par) > 1 ? 2 : 1;
  const int64_t im = tile_bytes(DataType::BFLOAT16);
  int64_t bytes = sq_t * dht * q_buffers * tile_bytes(a.q.dtype);
  bytes += sk_t * dht * 2 * (tile_bytes(a.k.dtype) + tile_bytes(a.v.dtype));
  if (a.causal) bytes += sq_t * sk_t * 2 * tile_bytes(DataType::BFLOAT4_B);
  bytes += sq_t * sk_t * im;                                  // scores
  bytes += 2 * sq_t * dht * im + sq_t * dht * tile_bytes(config.dtype);  // output partials and output
  bytes += 5 * sq_t * im + 2 * im;                            // max, sums, exp(max diff), scalars
  return bytes;
}

}  // namespace

SdpaChunking sdpa_chunking(const OpConfig& config, const DeviceSpec& device) {
  if (const auto* c = std::get_if<SdpaConfig>(&config.kernel_config)) return {c->q_chunk_size, c->k_chunk_size, c->grid};
  if (device.is_ttnn()) return {kTtnnDefaultChunk, kTtnnDefaultChunk, device.grid};
  return {kCpuQChunk, kCpuKChunk, device.grid};
}

void SdpaOp::validate(const SdpaArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_rank4(a.q, "q", "[batch, num_heads, seq, head_dim]");
  check_rank4(a.k, "k", "[batch, num_kv_heads, kv_seq, head_dim]");
  check_rank4(a.v, "v", "[batch, num_kv_heads, kv_seq, head_dim]");
  const int64_t b = a.q.shape[0], nh = a.q.shape[1], s = a.q.shape[2], hd = a.q.shape[3];
  const int64_t nkv = a.k.shape[1], skv = a.keys();
  TTT_CHECK(a.kv_len >= 0 && a.kv_len <= a.k.shape[2], InvalidConfig,
            "sdpa: kv_len {} (kv_len) exceeds the {} rows of k (k.shape[2]); use 0 (all rows) up to {}", a.kv_len,
            a.k.shape[2], a.k.shape[2]);
  TTT_CHECK(a.v.shape == a.k.shape, ShapeMismatch, "sdpa: v has shape {}; it must equal k's shape {}", a.v.shape.str(),
            a.k.shape.str());
  TTT_CHECK(a.k.shape[0] == b, ShapeMismatch, "sdpa: k batch {} (k.shape[0]) differs from q batch {} (q.shape[0]); they must match",
            a.k.shape[0], b);
  TTT_CHECK(a.k.shape[3] == hd, ShapeMismatch,
            "sdpa: k head_dim {} (k.shape[3]) differs from q head_dim {} (q.shape[3]); they must match", a.k.shape[3], hd);
  TTT_CHECK(nh % nkv == 0, ShapeMismatch,
            "sdpa: num_heads {} (q.shape[1]) is not a multiple of num_kv_heads {} (k.shape[1]); num_kv_heads must be one of {}",
            nh, nkv, divisors_of(nh));
  TTT_CHECK(!a.causal || skv >= s, ShapeMismatch,
            "sdpa: causal attention needs kv_seq >= seq; found kv_seq {} (k.shape[2] or kv_len) < seq {} (q.shape[2])",
            skv, s);
  if (a.scale) {
    TTT_CHECK(std::isfinite(*a.scale) && *a.scale > 0.f, InvalidConfig,
              "sdpa: scale {} (scale) must be a positive finite number, e.g. 1/sqrt(head_dim) = {}", *a.scale,
              1.0 / std::sqrt(static_cast<double>(hd)));
  }
  const TensorSpec* inputs[] = {&a.q, &a.k, &a.v};
  const char* names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const TensorSpec& t = *inputs[i];
    if (device.is_ttnn()) {
      check_dtype_in("sdpa", std::string(names[i]), t.dtype, {DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
      TTT_CHECK(t.layout == Layout::TILE, InvalidConfig, "sdpa: {} is in {} layout ({}.layout); ttnn SDPA takes TILE inputs",
                names[i], to_string(t.layout), names[i]);
      TTT_CHECK(!t.memory_config.is_sharded(), InvalidConfig,
                "sdpa: {} is {} ({}.memory_config); SDPA takes interleaved DRAM or L1 operands", names[i],
                to_string(t.memory_config.memory_layout), names[i]);
    } else {
      check_dtype_in("sdpa", std::string(names[i]), t.dtype,
                     {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B});
    }
  }
  attn::check_output_config("sdpa", config, device, a.q.shape);

  const bool has_sdpa = std::holds_alternative<SdpaConfig>(config.kernel_config);
  const bool ok_variant = has_sdpa || std::holds_alternative<std::monostate>(config.kernel_config) ||
                          (!device.is_ttnn() && std::holds_alternative<CpuKernelConfig>(config.kernel_config));
  TTT_CHECK(ok_variant, InvalidConfig, "sdpa: kernel_config is {}; use sdpa (SdpaConfig){}",
            VariantNames<ProgramConfig>::names[config.kernel_config.index()], device.is_ttnn() ? " or none" : ", cpu or none");
  const SdpaChunking ch = sdpa_chunking(config, device);
  TTT_CHECK(ch.q_chunk > 0 && ch.k_chunk > 0, InvalidConfig,
            "sdpa: chunk sizes must be positive; found q_chunk_size {} and k_chunk_size {} (kernel_config)", ch.q_chunk,
            ch.k_chunk);
  if (!device.is_ttnn()) return;

  // Any head_dim: one below a tile multiple runs in the zero padding of the last tile column,
  // which adds nothing to Q K^T and gives zero columns in P V.
  TTT_CHECK(config.dtype == a.q.dtype, InvalidConfig,
            "sdpa: output dtype {} (dtype) differs from q's dtype {}; ttnn SDPA writes its output in q's dtype",
            to_string(config.dtype), to_string(a.q.dtype));
  TTT_CHECK(config.layout == Layout::TILE, InvalidConfig, "sdpa: output layout {} (layout); ttnn SDPA writes TILE",
            to_string(config.layout));
  TTT_CHECK(ch.q_chunk % kTileSize == 0, InvalidConfig,
            "sdpa: q_chunk_size {} is not a multiple of 32 (kernel_config.q_chunk_size); use 32, 64, 128, 256, ... (it "
            "need not divide the sequence: the kernels pad to whole chunks)",
            ch.q_chunk);
  TTT_CHECK(ch.k_chunk % kTileSize == 0, InvalidConfig,
            "sdpa: k_chunk_size {} is not a multiple of 32 (kernel_config.k_chunk_size); use 32, 64, 128, 256, ... (it "
            "need not divide the sequence: the kernels pad to whole chunks)",
            ch.k_chunk);
  TTT_CHECK(ch.grid.x >= 1 && ch.grid.y >= 1 && ch.grid.x <= device.grid.x && ch.grid.y <= device.grid.y, InvalidConfig,
            "sdpa: grid {} (kernel_config.grid) does not fit the device's {} compute grid", ch.grid.str(),
            device.grid.str());
  const int64_t offset = skv - s;
  if (a.causal && offset > 0) {
    // A causal SDPA whose keys extend past its queries is tt-metal's chunked prefill
    // (chunk_start_idx = offset), which starts at a q chunk and a k chunk boundary.
    TTT_CHECK(offset % ch.q_chunk == 0 && offset % ch.k_chunk == 0, InvalidConfig,
              "sdpa: causal offset {} (kv_seq - seq) is not a multiple of q_chunk_size {} and k_chunk_size {} "
              "(kernel_config); chunked prefill must start on a chunk boundary, e.g. offset {}",
              offset, ch.q_chunk, ch.k_chunk, round_up(offset, std::max(ch.q_chunk, ch.k_chunk)));
  }
  const int64_t l1 = prefill_l1_bytes(a, config, ch.q_chunk, ch.k_chunk, ch.grid.count());
  TTT_CHECK(l1 <= device.l1_usable(), OutOfMemory,
            "sdpa: q_chunk_size {} x k_chunk_size {} needs {} KiB of circular buffers per core, more than the {} KiB of "
            "L1 a core has (kernel_config); use smaller chunks",
            ch.q_chunk, ch.k_chunk, l1 / 1024, device.l1_usable() / 1024);
}

TensorSpec SdpaOp::output_spec(const SdpaArgs& a, const OpConfig& config) {
  return attn::make_output_spec(config.op_name.empty() ? std::string(kName) : config.op_name, a.q.shape, config);
}

void SdpaOp::run(const SdpaArgs& a, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                 const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, q, a.q);
  check_tensor_matches(kName, k, a.k);
  check_tensor_matches(kName, v, a.v);
  attn::check_output_tensor(kName, out, a.q.shape, config);
  const int64_t b = a.q.shape[0], nh = a.q.shape[1], s = a.q.shape[2], hd = a.q.shape[3];
  const int64_t nkv = a.k.shape[1], skv = a.keys(), group = nh / nkv;
  const int64_t offset = a.causal ? skv - s : 0;
  const DeviceSpec& device = ctx.device.spec();
  const SdpaChunking ch = sdpa_chunking(config, device);
  const int64_t qc = std::min(ch.q_chunk, s);
  FlashConfig fc;
  fc.head_dim = hd;
  fc.k_chunk = std::min(ch.k_chunk, skv);
  fc.scale = a.scale.value_or(1.f / std::sqrt(static_cast<float>(hd)));
  fc.numerics = attn::device_numerics(device, config);

  const TensorRows qr(q), kr(k), vr(v), orows(out);
  const int64_t q_chunks = ceil_div(s, qc);
  const int64_t items = b * nkv * q_chunks;
  const std::size_t flash_floats = attn::flash_workspace_floats(fc, group * qc, qc);
  const std::size_t stage = static_cast<std::size_t>(group * qc * hd);
  const std::size_t total = flash_floats + (qr.direct() ? 0 : stage) + (orows.direct() ? 0 : stage);

  ctx.pool.run(attn::op_threads(config, ctx), [&](int t, int nt) {
    thread_local std::vector<FlashRows> groups;
    thread_local std::vector<int64_t> last_key;
    auto ws = scratch(total, kWorkspaceSlot);
    float* q_stage = ws.data() + flash_floats;
    float* o_stage = q_stage + (qr.direct() ? 0 : stage);
    groups.resize(static_cast<std::size_t>(group));
    last_key.resize(static_cast<std::size_t>(qc));
    for (int64_t item = t; item < items; item += nt) {
      const int64_t qi = item % q_chunks, kvh = (item / q_chunks) % nkv, bi = item / (q_chunks * nkv);
      const int64_t q0 = qi * qc, rows = std::min(qc, s - q0);
      for (int64_t i = 0; i < rows; ++i) last_key[i] = a.causal ? std::min(offset + q0 + i, skv - 1) : skv - 1;
      for (int64_t hh = 0; hh < group; ++hh) {
        const int64_t qm = bi * nh + kvh * group + hh;
        FlashRows& g = groups[static_cast<std::size_t>(hh)];
        g.q = qr.read(qm, q0, rows, q_stage + hh * qc * hd);
        g.rows = rows;
        g.last_key = last_key.data();
        g.out = orows.direct() ? orows.row_ptr(qm, q0) : o_stage + hh * qc * hd;
      }
      attn::flash_attend(fc, groups, kr, vr, bi * nkv + kvh, ws.first(flash_floats));
      if (!orows.direct()) {
        for (int64_t hh = 0; hh < group; ++hh) orows.write(bi * nh + kvh * group + hh, q0, rows, o_stage + hh * qc * hd);
      }
    }
  });
}

Cost SdpaOp::cost(const SdpaArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const int64_t b = a.q.shape[0], nh = a.q.shape[1], s = a.q.shape[2], hd = a.q.shape[3];
  const int64_t skv = a.keys();
  const int64_t offset = skv - s;
  // Attended (query, key) pairs: all of them, or the causal triangle shifted by offset.
  double pairs = static_cast<double>(s) * static_cast<double>(skv);
  if (a.causal) {
    pairs = 0;
    for (int64_t i = 0; i < s; ++i) pairs += static_cast<double>(std::min(i + offset + 1, skv));
  }
  CostInputs in;
  // Q K^T and P V, 2 flops per MAC each, over whole tiles of the head dim on a device.
  in.matmul_flops = 4.0 * static_cast<double>(b * nh * attn::compute_head_dim(hd, device)) * pairs;
  in.vector_flops = 5.0 * static_cast<double>(b * nh) * pairs;       // max, subtract, exp, sum, rescale
  const TensorSpec out = output_spec(a, config);
  if (device.is_ttnn()) {
    // Each core streams the K/V chunks its q chunk needs; every q head reads its kv head.
    const SdpaChunking ch = sdpa_chunking(config, device);
    const int64_t q_chunks = ceil_div(s, ch.q_chunk);
    const int64_t padded_skv = round_up(skv, ch.k_chunk);
    double keys = 0;
    for (int64_t qi = 0; qi < q_chunks; ++qi) {
      const int64_t q_hi = std::min((qi + 1) * ch.q_chunk, s);
      keys += static_cast<double>(a.causal ? std::min(round_up(q_hi + offset, ch.k_chunk), padded_skv) : padded_skv);
    }
    const double kv_row = attn::stored_row_bytes(a.k) + attn::stored_row_bytes(a.v);  // padded tile rows
    attn::add_read(in, a.q.memory_config, stored_bytes(a.q));
    attn::add_read(in, a.k.memory_config, static_cast<double>(b * nh) * keys * kv_row);
    in.cores = static_cast<int>(std::min<int64_t>(ch.grid.count(), b * nh * q_chunks));
    in.fidelity = config.compute_kernel_config.math_fidelity;
    in.math_dtype = a.k.dtype;
  } else {
    attn::add_read(in, a.q.memory_config, stored_bytes(a.q));
    const double rows = static_cast<double>(b * a.k.shape[1] * skv);
    attn::add_read(in, a.k.memory_config, rows * attn::stored_row_bytes(a.k));
    attn::add_read(in, a.v.memory_config, rows * attn::stored_row_bytes(a.v));
    in.math_dtype = DataType::FLOAT32;
    in.fidelity = MathFidelity::HiFi4;
  }
  attn::add_write(in, out.memory_config, stored_bytes(out));
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
