// The Tensix side of rms_norm / layer_norm: program-config checks and the numerics of
// ttnn's layernorm compute kernel (ttnn/cpp/ttnn/operations/normalization/layernorm/device/
// kernels/compute/layernorm.cpp). docs/numerics/elementwise.md lists each step.
#include <algorithm>
#include <cmath>
#include <string>

#include "ops/eltwise/tensix_numerics.hpp"
#include "ops/norm/norm_internal.hpp"

namespace ttt::ops::norm_detail {
namespace {

std::string divisors_up_to(int v, int limit) {
  std::string out;
  for (int d = 1; d <= std::min(v, limit); ++d) {
    if (v % d) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(d);
  }
  return out;
}

}  // namespace

void check_norm_program_config(std::string_view op, const TensorSpec& input, const TensorSpec& output,
                               const OpConfig& config, const DeviceSpec& device) {
  const MemoryConfig& in_mem = input.memory_config;
  const MemoryConfig& out_mem = output.memory_config;
  const auto* nc = std::get_if<NormConfig>(&config.kernel_config);
  if (!nc) {
    TTT_CHECK(!in_mem.is_sharded(), InvalidConfig,
              "{}: input '{}' is sharded ({}) but kernel_config is none; a sharded input runs the sharded kernel: "
              "give a norm program config (grid, block_h, block_w, subblock_w)",
              op, input.name, in_mem.str());
    TTT_CHECK(!out_mem.is_sharded(), InvalidConfig,
              "{}: an interleaved input gives an interleaved output, but memory_config is {}; use an INTERLEAVED "
              "memory config or shard the input",
              op, out_mem.str());
    return;
  }

  const CoreGrid& g = nc->grid;
  TTT_CHECK(g.x >= 1 && g.y >= 1 && g.x <= device.grid.x && g.y <= device.grid.y, InvalidConfig,
            "{}: grid {} is outside the {} compute grid {} (kernel_config.grid); use a grid within {}", op, g.str(),
            device.name, device.grid.str(), device.grid.str());
  TTT_CHECK(nc->block_h >= 1, InvalidConfig, "{}: block_h {} must be at least 1 (kernel_config.block_h)", op,
            nc->block_h);
  TTT_CHECK(nc->block_w >= 1, InvalidConfig, "{}: block_w {} must be at least 1 (kernel_config.block_w)", op,
            nc->block_w);
  TTT_CHECK(nc->subblock_w >= 1 && nc->block_w % nc->subblock_w == 0, InvalidConfig,
            "{}: subblock_w {} does not divide block_w {} (kernel_config.subblock_w); use {}", op, nc->subblock_w,
            nc->block_w, divisors_up_to(nc->block_w, nc->block_w));
  // Half the dest register holds 8 bf16 tiles or 4 fp32 tiles (dst_full_sync_en off).
  const int max_subblock = config.compute_kernel_config.fp32_dest_acc_en ? 4 : 8;
  TTT_CHECK(nc->subblock_w <= max_subblock, InvalidConfig,
            "{}: subblock_w {} exceeds {} tiles, the dest register's capacity with fp32_dest_acc_en = {} "
            "(kernel_config.subblock_w); use {}",
            op, nc->subblock_w, max_subblock, config.compute_kernel_config.fp32_dest_acc_en,
            divisors_up_to(nc->block_w, max_subblock));

  TTT_CHECK(in_mem.is_sharded() && in_mem.shard_spec, InvalidConfig,
            "{}: a norm program config runs the sharded kernel, but input '{}' is {}; use kernel_config none for "
            "an interleaved input, or shard the input (WIDTH_SHARDED or BLOCK_SHARDED)",
            op, input.name, in_mem.str());
  TTT_CHECK(in_mem.memory_layout != TensorMemoryLayout::HEIGHT_SHARDED, InvalidConfig,
            "{}: the sharded norm kernel does not take HEIGHT_SHARDED inputs (input '{}' memory_config {}); use "
            "WIDTH_SHARDED or BLOCK_SHARDED",
            op, input.name, in_mem.str());
  TTT_CHECK(out_mem.is_sharded() && out_mem.memory_layout == in_mem.memory_layout &&
                out_mem.buffer_type == in_mem.buffer_type,
            InvalidConfig,
            "{}: a sharded input needs an output sharded the same way: input {} {}, output {} (memory_config); "
            "use memory_layout {} in {}",
            op, to_string(in_mem.buffer_type), to_string(in_mem.memory_layout), out_mem.str(),
            to_string(in_mem.memory_layout), to_string(in_mem.buffer_type));

  const ShardSpec& shard = *in_mem.shard_spec;
  TTT_CHECK(shard.grid.x <= g.x && shard.grid.y <= g.y, InvalidConfig,
            "{}: the input's shard grid {} does not fit in the program grid {} (kernel_config.grid); use a grid of "
            "at least {}",
            op, shard.grid.str(), g.str(), shard.grid.str());

  const Shape padded = padded_shape(input.shape, Layout::TILE);
  const int64_t kt = padded[-1] / kTileSize;
  const int64_t mt = padded.volume() / padded[-1] / kTileSize;
  const bool row_wise = shard.orientation == ShardOrientation::ROW_MAJOR;
  const bool mcast_1d = mt == nc->block_h;
  int64_t want_w = 0;
  std::string why;
  if (mcast_1d) {
    want_w = ceil_div(kt, shard.grid.count());
    why = fmt::format("{} width tiles over {} cores", kt, shard.grid.count());
  } else {
    const int cols = row_wise ? shard.grid.x : shard.grid.y;
    const int rows = row_wise ? shard.grid.y : shard.grid.x;
    want_w = ceil_div(kt, cols);
    why = fmt::format("{} width tiles over {} core columns", kt, cols);
    TTT_CHECK(mt / rows == nc->block_h, InvalidConfig,
              "{}: block_h {} does not match the input: {} height tiles over {} core rows need block_h {} "
              "(kernel_config.block_h)",
              op, nc->block_h, mt, rows, mt / rows);
  }
  TTT_CHECK(nc->block_w == want_w, InvalidConfig,
            "{}: block_w {} does not cover the input width: {} need block_w {} (kernel_config.block_w)", op,
            nc->block_w, why, want_w);
  TTT_CHECK(shard.shape[1] == nc->block_w * kTileSize, InvalidConfig,
            "{}: block_w {} tiles is {} columns but the input shard is {} wide "
            "(memory_config.shard_spec.shape[1]); use block_w {}",
            op, nc->block_w, nc->block_w * kTileSize, shard.shape[1], shard.shape[1] / kTileSize);
}

void tensix_norm(const TensixNormParams& p, const float* x, const float* gamma, const float* beta, float* out,
                 ThreadPool& pool, int threads) {
  using tensix::dest_value;
  using tensix::fpu_add;
  using tensix::fpu_mul;
  using tensix::fpu_sub;
  const bool f32 = p.compute.fp32_dest_acc_en;
  const MathFidelity fid = p.compute.math_fidelity;
  const int64_t w = p.width;
  // The reader fills Float16_b tiles with 1/W and epsilon from their fp32 bit patterns.
  const float scaler = tensix::host_bf16_scalar(1.0f / static_cast<float>(w));
  const float eps = tensix::host_bf16_scalar(p.eps);

  // reduce_tile(REDUCE_ROW, SUM) with the 1/W scaler: each tile's 32 columns are summed
  // inside the FPU, and the running sum lives in dest between tiles.
  auto reduce_mean = [&](const float* v) {
    float acc = 0.f;
    for (int64_t t0 = 0; t0 < w; t0 += kTileSize) {
      float part = 0.f;
      const int64_t t1 = std::min(w, t0 + kTileSize);
      for (int64_t j = t0; j < t1; ++j) part += fpu_mul(v[j], scaler, fid);
      acc = dest_value(acc + part, f32);
    }
    return acc;
  };

  pool.parallel_for(
      p.rows,
      [&](int64_t r0, int64_t r1, int) {
        // Per-thread row buffers: x - E[x] and the squares, as the intermediate CBs hold them.
        const auto tmp = scratch(static_cast<std::size_t>(2 * w), 5);
        float* xmm = tmp.data();
        float* sq = tmp.data() + w;
        for (int64_t r = r0; r < r1; ++r) {
          const float* xr = x + r * w;
          float* yr = out + r * w;
          const float* centred = xr;
          if (p.kind == NormKind::LAYER) {
            const float mean = reduce_mean(xr);
            for (int64_t j = 0; j < w; ++j) xmm[j] = dest_value(fpu_sub(xr[j], mean), f32);
            centred = xmm;
          }
          for (int64_t j = 0; j < w; ++j) sq[j] = dest_value(fpu_mul(centred[j], centred[j], fid), f32);
          const float var = reduce_mean(sq);
          // add_tiles(+eps) then rsqrt on the SFPU, both in the same dest tile.
          const float sum = dest_value(fpu_add(var, eps), f32);
          const float inv = dest_value(static_cast<float>(1.0 / std::sqrt(static_cast<double>(sum))), f32);
          for (int64_t j = 0; j < w; ++j) {
            float y = dest_value(fpu_mul(centred[j], inv, fid), f32);
            if (gamma) y = dest_value(fpu_mul(y, gamma[j], fid), f32);
            if (beta) y = dest_value(fpu_add(y, beta[j]), f32);
            yr[j] = y;
          }
        }
      },
      threads);
}

}  // namespace ttt::ops::norm_detail
