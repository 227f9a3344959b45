#include "ops/sdpa_decode/sdpa_decode.hpp"

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
constexpr int64_t kCpuKChunk = 256;
constexpr int64_t kTtnnDefaultChunk = 32;
// tt-metal's SDPAProgramConfig caps the cores that split one (user, kv head) at 16.
constexpr int64_t kMaxCoresPerHead = 16;

void check_rank4(const TensorSpec& t, const char* what, const char* layout) {
  TTT_CHECK(t.shape.rank() == 4, ShapeMismatch, "sdpa_decode: {} has shape {} (rank {}); expected {}", what,
            t.shape.str(), t.shape.rank(), layout);
  for (int64_t d : t.shape)
    TTT_CHECK(d > 0, ShapeMismatch, "sdpa_decode: {} has shape {} with an empty dimension; every extent must be positive",
              what, t.shape.str());
}

// Cores that split one (user, kv head) over the cache, as sdpa_decode_program_factory.cpp assigns them.
int64_t cores_per_head(int64_t cores, int64_t batch, int64_t nkv, bool has_program_config) {
  const int64_t max_per_head = has_program_config ? kMaxCoresPerHead : cores;
  const int64_t per_batch = std::min(cores, max_per_head * batch * nkv) / batch;
  return std::max<int64_t>(1, per_batch / nkv);
}

// Circular-buffer bytes per core (sdpa_decode_program_factory.cpp: q, double-buffered K
// and V chunks, scores, mask, output partials and statistics in bf16 tiles).
int64_t decode_l1_bytes(const SdpaDecodeArgs& a, const OpConfig& config, int64_t kc, int64_t per_head) {
  const int64_t pnht = ceil_div(a.q.shape[2], kTileSize), dht = ceil_div(a.q.shape[3], kTileSize);
  const int64_t skt = kc / kTileSize, im = tile_bytes(DataType::BFLOAT16);
  const int64_t q_tiles = pnht * dht, qk_tiles = pnht * skt, out_tiles = pnht * dht;
  int64_t bytes = 2 * q_tiles * tile_bytes(a.q.dtype);
  bytes += skt * dht * 2 * (tile_bytes(a.k_cache.dtype) + tile_bytes(a.v_cache.dtype));
  bytes += 2 * qk_tiles * im;                                   // mask and scores
  bytes += 4 * out_tiles * im + out_tiles * tile_bytes(config.dtype);
  bytes += 11 * pnht * im + 3 * im;                             // statistics and scalars
  bytes += (out_tiles + 2 * pnht) * (per_head - 1) * im;        // partials from the other cores
  return bytes;
}

}  // namespace

int64_t sdpa_decode_k_chunk(const OpConfig& config, const DeviceSpec& device) {
  if (const auto* c = std::get_if<SdpaConfig>(&config.kernel_config)) return c->k_chunk_size;
  return device.is_ttnn() ? kTtnnDefaultChunk : kCpuKChunk;
}

void SdpaDecodeOp::validate(const SdpaDecodeArgs& a, const OpConfig& config, const DeviceSpec& device) {
  check_rank4(a.q, "q", "[1, batch, num_heads, head_dim]");
  check_rank4(a.k_cache, "k_cache", "[batch, num_kv_heads, max_seq_len, head_dim]");
  check_rank4(a.v_cache, "v_cache", "[batch, num_kv_heads, max_seq_len, head_dim]");
  const int64_t b = a.q.shape[1], nh = a.q.shape[2], hd = a.q.shape[3];
  const int64_t nkv = a.k_cache.shape[1], max_seq = a.k_cache.shape[2];
  TTT_CHECK(a.q.shape[0] == 1, ShapeMismatch,
            "sdpa_decode: q has shape {}; decode takes one query per user, [1, batch, num_heads, head_dim] (q.shape[0] = 1)",
            a.q.shape.str());
  TTT_CHECK(a.v_cache.shape == a.k_cache.shape, ShapeMismatch,
            "sdpa_decode: v_cache has shape {}; it must equal k_cache's shape {}", a.v_cache.shape.str(),
            a.k_cache.shape.str());
  TTT_CHECK(a.k_cache.shape[0] == b, ShapeMismatch,
            "sdpa_decode: k_cache batch {} (k_cache.shape[0]) differs from q's batch {} (q.shape[1]); they must match",
            a.k_cache.shape[0], b);
  TTT_CHECK(a.k_cache.shape[3] == hd, ShapeMismatch,
            "sdpa_decode: k_cache head_dim {} (k_cache.shape[3]) differs from q head_dim {} (q.shape[3]); they must match",
            a.k_cache.shape[3], hd);
  TTT_CHECK(nh % nkv == 0, ShapeMismatch,
            "sdpa_decode: num_heads {} (q.shape[2]) is not a multiple of num_kv_heads {} (k_cache.shape[1]); choose "
            "num_kv_heads dividing num_heads",
            nh, nkv);
  if (a.scale) {
    TTT_CHECK(std::isfinite(*a.scale) && *a.scale > 0.f, InvalidConfig,
              "sdpa_decode: scale {} (scale) must be a positive finite number, e.g. 1/sqrt(head_dim) = {}", *a.scale,
              1.0 / std::sqrt(static_cast<double>(hd)));
  }
  const std::initializer_list<DataType> device_formats = {DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B};
  const std::initializer_list<DataType> host_formats = {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B,
                                                        DataType::BFLOAT4_B};
  const bool ttnn = device.is_ttnn();
  for (const auto* t : {&a.k_cache, &a.v_cache}) {
    const char* name = t == &a.k_cache ? "k_cache" : "v_cache";
    check_dtype_in("sdpa_decode", name, t->dtype, ttnn ? device_formats : host_formats);
    if (!ttnn) continue;
    TTT_CHECK(t->layout == Layout::TILE, InvalidConfig,
              "sdpa_decode: {} is in {} layout ({}.layout); the KV cache must be TILE", name, to_string(t->layout), name);
    TTT_CHECK(t->memory_config.buffer_type == BufferType::DRAM && !t->memory_config.is_sharded(), InvalidConfig,
              "sdpa_decode: {} is {} {} ({}.memory_config); the KV cache must be DRAM interleaved", name,
              to_string(t->memory_config.buffer_type), to_string(t->memory_config.memory_layout), name);
  }
  check_dtype_in("sdpa_decode", "q", a.q.dtype, ttnn ? device_formats : host_formats);
  attn::check_output_config("sdpa_decode", config, device, a.q.shape);

  const bool ok_variant = std::holds_alternative<SdpaConfig>(config.kernel_config) ||
                          std::holds_alternative<std::monostate>(config.kernel_config) ||
                          (!ttnn && std::holds_alternative<CpuKernelConfig>(config.kernel_config));
  TTT_CHECK(ok_variant, InvalidConfig, "sdpa_decode: kernel_config is {}; use sdpa (SdpaConfig){}",
            VariantNames<ProgramConfig>::names[config.kernel_config.index()], ttnn ? " or none" : ", cpu or none");
  const int64_t kc = sdpa_decode_k_chunk(config, device);
  TTT_CHECK(kc > 0, InvalidConfig, "sdpa_decode: k_chunk_size {} (kernel_config.k_chunk_size) must be positive", kc);
  if (!ttnn) return;

  // Any head_dim: one below a tile multiple runs in the zero padding of the last tile column.
  TTT_CHECK(nkv == 1 || a.q.dtype == DataType::BFLOAT16, InvalidConfig,
            "sdpa_decode: q is {} with {} kv heads (q.dtype); grouped-query decode takes a BFLOAT16 q",
            to_string(a.q.dtype), nkv);
  TTT_CHECK(a.q.memory_config.memory_layout == TensorMemoryLayout::HEIGHT_SHARDED ||
                (!a.q.memory_config.is_sharded() && a.q.memory_config.buffer_type == BufferType::DRAM),
            InvalidConfig, "sdpa_decode: q is {} {} (q.memory_config); use DRAM interleaved or HEIGHT_SHARDED",
            to_string(a.q.memory_config.buffer_type), to_string(a.q.memory_config.memory_layout));
  TTT_CHECK(config.dtype == a.q.dtype, InvalidConfig,
            "sdpa_decode: output dtype {} (dtype) differs from q's dtype {}; ttnn decode SDPA writes q's dtype",
            to_string(config.dtype), to_string(a.q.dtype));
  TTT_CHECK(config.layout == a.q.layout, InvalidConfig,
            "sdpa_decode: output layout {} (layout) differs from q's layout {}; ttnn decode SDPA writes q's layout",
            to_string(config.layout), to_string(a.q.layout));
  const auto out_layout = config.memory_config.memory_layout;
  TTT_CHECK(out_layout == TensorMemoryLayout::INTERLEAVED || (out_layout == TensorMemoryLayout::HEIGHT_SHARDED && nkv == 1),
            InvalidConfig,
            "sdpa_decode: output is {} (memory_config); use INTERLEAVED, or HEIGHT_SHARDED when there is one kv head",
            to_string(out_layout));
  TTT_CHECK(kc % kTileSize == 0 && max_seq % kc == 0, InvalidConfig,
            "sdpa_decode: k_chunk_size {} (kernel_config.k_chunk_size) must be a multiple of 32 that divides max_seq_len "
            "{}; e.g. 32, 64, 128, 256 when they divide it",
            kc, max_seq);
  CoreGrid grid = device.grid;
  if (const auto* c = std::get_if<SdpaConfig>(&config.kernel_config)) grid = c->grid;
  TTT_CHECK(grid.x >= 1 && grid.y >= 1 && grid.x <= device.grid.x && grid.y <= device.grid.y, InvalidConfig,
            "sdpa_decode: grid {} (kernel_config.grid) does not fit the device's {} compute grid", grid.str(),
            device.grid.str());
  TTT_CHECK(grid.count() >= b, InvalidConfig,
            "sdpa_decode: grid {} has {} cores for a batch of {} (kernel_config.grid); decode needs a core per user",
            grid.str(), grid.count(), b);
  const int64_t per_head =
      cores_per_head(grid.count(), b, nkv, std::holds_alternative<SdpaConfig>(config.kernel_config));
  const int64_t l1 = decode_l1_bytes(a, config, kc, per_head);
  TTT_CHECK(l1 <= device.l1_usable(), OutOfMemory,
            "sdpa_decode: k_chunk_size {} needs {} KiB of circular buffers per core, more than the {} KiB of L1 a core "
            "has (kernel_config.k_chunk_size); use a smaller chunk",
            kc, l1 / 1024, device.l1_usable() / 1024);
}

TensorSpec SdpaDecodeOp::output_spec(const SdpaDecodeArgs& a, const OpConfig& config) {
  return attn::make_output_spec(config.op_name.empty() ? std::string(kName) : config.op_name, a.q.shape, config);
}

void SdpaDecodeOp::run(const SdpaDecodeArgs& a, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                       std::span<const int32_t> positions, Tensor& out, const OpConfig& config, ExecContext& ctx) {
  check_tensor_matches(kName, q, a.q);
  check_tensor_matches(kName, k_cache, a.k_cache);
  check_tensor_matches(kName, v_cache, a.v_cache);
  attn::check_output_tensor(kName, out, a.q.shape, config);
  const int64_t b = a.q.shape[1], nh = a.q.shape[2], hd = a.q.shape[3];
  const int64_t nkv = a.k_cache.shape[1], max_seq = a.k_cache.shape[2], group = nh / nkv;
  TTT_CHECK(static_cast<int64_t>(positions.size()) == b, ShapeMismatch,
            "sdpa_decode: {} positions given for a batch of {} (positions); pass one position per user",
            positions.size(), b);
  for (std::size_t u = 0; u < positions.size(); ++u) {
    TTT_CHECK(positions[u] >= 0 && positions[u] < max_seq, InvalidConfig,
              "sdpa_decode: position {} of user {} is outside the cache (positions); positions must be in [0, {}) "
              "(max_seq_len)",
              positions[u], u, max_seq);
  }
  const DeviceSpec& device = ctx.device.spec();
  FlashConfig fc;
  fc.head_dim = hd;
  fc.k_chunk = sdpa_decode_k_chunk(config, device);
  fc.scale = a.scale.value_or(1.f / std::sqrt(static_cast<float>(hd)));
  fc.numerics = attn::device_numerics(device, config);

  const TensorRows qr(q), kr(k_cache), vr(v_cache), orows(out);
  const int64_t items = b * nkv;
  const std::size_t flash_floats = attn::flash_workspace_floats(fc, group, group);
  const std::size_t stage = static_cast<std::size_t>(group * hd);
  const std::size_t total = flash_floats + 2 * stage;

  ctx.pool.run(attn::op_threads(config, ctx), [&](int t, int nt) {
    thread_local std::vector<int64_t> last_key;
    auto ws = scratch(total, kWorkspaceSlot);
    float* q_stage = ws.data() + flash_floats;
    float* o_stage = q_stage + stage;
    last_key.resize(static_cast<std::size_t>(group));
    for (int64_t item = t; item < items; item += nt) {
      const int64_t bi = item / nkv, kvh = item % nkv, r0 = kvh * group;
      std::fill(last_key.begin(), last_key.end(), static_cast<int64_t>(positions[static_cast<std::size_t>(bi)]));
      FlashRows g;
      g.q = qr.read(bi, r0, group, q_stage);
      g.rows = group;
      g.last_key = last_key.data();
      g.out = orows.direct() ? orows.row_ptr(bi, r0) : o_stage;
      attn::flash_attend(fc, std::span<const FlashRows>(&g, 1), kr, vr, bi * nkv + kvh, ws.first(flash_floats));
      if (!orows.direct()) orows.write(bi, r0, group, o_stage);
    }
  });
}

Cost SdpaDecodeOp::cost(const SdpaDecodeArgs& a, const OpConfig& config, const DeviceSpec& device) {
  const int64_t b = a.q.shape[1], nh = a.q.shape[2], hd = a.q.shape[3];
  const int64_t nkv = a.k_cache.shape[1], max_seq = a.k_cache.shape[2];
  const int64_t kc = std::max<int64_t>(1, sdpa_decode_k_chunk(config, device));
  const int64_t ctx_len = a.context_len > 0 ? std::min(a.context_len, max_seq) : max_seq;
  // The device reads whole chunks (rows past the position are masked, not skipped).
  const int64_t read_len = device.is_ttnn() ? std::min(round_up(ctx_len, kc), max_seq) : ctx_len;
  CostInputs in;
  // Over whole tiles of the head dim on a device; cache rows as stored (padded in TILE).
  const double flop_hd = static_cast<double>(attn::compute_head_dim(hd, device));
  in.matmul_flops = 4.0 * static_cast<double>(b * nh) * flop_hd * static_cast<double>(read_len);
  in.vector_flops = 5.0 * static_cast<double>(b * nh) * static_cast<double>(read_len);
  attn::add_read(in, a.q.memory_config, stored_bytes(a.q));
  attn::add_read(in, a.k_cache.memory_config,
                 static_cast<double>(b * nkv * read_len) * attn::stored_row_bytes(a.k_cache));
  attn::add_read(in, a.v_cache.memory_config,
                 static_cast<double>(b * nkv * read_len) * attn::stored_row_bytes(a.v_cache));
  const TensorSpec out = output_spec(a, config);
  attn::add_write(in, out.memory_config, stored_bytes(out));
  if (device.is_ttnn()) {
    CoreGrid grid = device.grid;
    if (const auto* c = std::get_if<SdpaConfig>(&config.kernel_config)) grid = c->grid;
    const int64_t chunks = ceil_div(read_len, kc);
    in.cores = static_cast<int>(std::min<int64_t>(grid.count(), b * nkv * chunks));
    in.fidelity = config.compute_kernel_config.math_fidelity;
    in.math_dtype = a.k_cache.dtype;
  } else {
    in.math_dtype = DataType::FLOAT32;
    in.fidelity = MathFidelity::HiFi4;
  }
  return estimate_cost(in, device);
}

}  // namespace ttt::ops
