// The host paths of the matmul op: work split over the thread pool, the streaming GEMV
// for few rows, the blocked GEMM (own kernels or oneDNN) for many, and the epilogue.
#include <algorithm>
#include <cstring>
#include <variant>

#include "ops/matmul/matmul_internal.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/formats.hpp"

namespace ttt::ops::matmul_detail {
namespace {

struct HostPlan {
  int threads = 1;
  int64_t gemv_rows = kDefaultGemvRows;
  int64_t block_n = kDefaultBlockN;
  int64_t block_k = kDefaultBlockK;
  bool blocking_given = false;  // explicit GEMM blocks: run the own kernels, not oneDNN
};

HostPlan host_plan(const OpConfig& config, const ExecContext& ctx, bool bf16_math) {
  HostPlan p;
  // The bfloat16 GEMM multiplies twice as fast as the fp32 FMAs of the GEMV, so it pays
  // off from fewer rows.
  p.gemv_rows = bf16_math ? kDefaultGemvRowsBf16 : kDefaultGemvRows;
  int threads = ctx.threads > 0 ? std::min(ctx.threads, ctx.pool.size()) : ctx.pool.size();
  if (const auto* c = std::get_if<CpuKernelConfig>(&config.kernel_config)) {
    if (c->threads > 0) threads = std::min(threads, c->threads);
    if (c->block_m > 0) p.gemv_rows = c->block_m;
    if (c->block_n > 0) p.block_n = c->block_n;
    if (c->block_k > 0) p.block_k = c->block_k;
    p.blocking_given = c->block_n > 0 || c->block_k > 0;
  }
  p.threads = std::max(1, threads);
  return p;
}

// Splits `units` units over `threads` threads: [begin, end) of thread t.
std::pair<int64_t, int64_t> share(int64_t units, int t, int threads) {
  return {units * t / threads, units * (t + 1) / threads};
}

// Bias and activation over columns [c0, c1) of every row.
void epilogue_columns(const KernelSet& ks, const RunInputs& in, int64_t c0, int64_t c1) {
  if (!in.bias && in.activation == UnaryActivation::NONE) return;
  const EpilogueArgs e{in.bias ? in.bias + c0 : nullptr, in.activation};
  const int64_t n = in.dims->n;
  for (int64_t r = 0; r < in.dims->rows; ++r) ks.epilogue_row(in.y + r * n + c0, c1 - c0, e);
}

// Few rows: each thread streams its share of the weight columns once. Weights in column
// shards, as many as the threads, give each thread one shard (share() splits at the shard
// boundaries then): one contiguous stretch of memory.
void run_gemv(const KernelSet& ks, const RunInputs& in, const HostPlan& plan, ExecContext& ctx) {
  const MatmulDims& d = *in.dims;
  const bool tiled = in.w.layout == Layout::TILE;
  // Units of work: tile columns, or 64-column steps of row-major weights.
  const int64_t unit = tiled ? kTileSize : 64;
  const int64_t units = ceil_div(d.n, unit);
  const int threads = static_cast<int>(std::min<int64_t>(plan.threads, units));
  ctx.pool.run(threads, [&](int t, int nt) {
    const auto [u0, u1] = share(units, t, nt);
    if (u0 >= u1) return;
    GemvArgs a;
    a.w = &in.w;
    a.x = in.x;
    a.kpad = in.kpad;
    a.rows = d.rows;
    a.col0 = u0 * unit;
    a.cols = std::min(u1 * unit, d.n) - a.col0;
    // Kernels write whole units; write straight into y unless the last unit is partial.
    const int64_t written = (u1 - u0) * unit;
    const bool direct = a.col0 + written <= d.n;
    std::span<float> local;
    if (direct) {
      a.y = in.y + a.col0;
      a.ldy = d.n;
    } else {
      a.ldy = round_up(written, 64);
      local = scratch(static_cast<std::size_t>(d.rows * a.ldy), kSlotThread);
      a.y = local.data();
    }
    ks.gemv(a);
    if (!direct) {
      for (int64_t r = 0; r < d.rows; ++r) {
        std::memcpy(in.y + r * d.n + a.col0, local.data() + r * a.ldy, static_cast<std::size_t>(a.cols) * 4);
      }
    }
    epilogue_columns(ks, in, a.col0, a.col0 + a.cols);
  });
}

// Many rows: pack x once, then each thread runs its panels of 32 columns, block by block
// (block_k deep, block_n wide), over every row block.
void run_gemm(const KernelSet& ks, const GemmKernels& g, const RunInputs& in, const HostPlan& plan,
              ExecContext& ctx) {
  const MatmulDims& d = *in.dims;
  const int64_t row_blocks = ceil_div(d.rows, kGemmMR);
  const int64_t a_bytes_per_k = g.math == GemmMath::FP32 ? kGemmMR * 4 : kGemmMR * 2;
  const int64_t b_bytes_per_k = g.math == GemmMath::FP32 ? kGemmNR * 4 : kGemmNR * 2;
  const int64_t a_block_bytes = in.kpad * a_bytes_per_k;
  auto* packed_a = reinterpret_cast<uint8_t*>(
      scratch(static_cast<std::size_t>(row_blocks * a_block_bytes / 4), kSlotPackedA).data());
  ctx.pool.parallel_for(
      row_blocks,
      [&](int64_t b0, int64_t b1, int) {
        for (int64_t b = b0; b < b1; ++b) g.pack_a(in.x, in.kpad, d.rows, b * kGemmMR, packed_a + b * a_block_bytes);
      },
      plan.threads);

  const int64_t panels = ceil_div(d.n, kGemmNR);
  const int64_t block_panels = std::max<int64_t>(1, plan.block_n / kGemmNR);
  const int64_t kc_max = std::min(round_up(plan.block_k, kTileSize), in.kpad);
  const int threads = static_cast<int>(std::min<int64_t>(plan.threads, panels));
  ctx.pool.run(threads, [&](int t, int nt) {
    const auto [p0, p1] = share(panels, t, nt);
    if (p0 >= p1) return;
    const int64_t panel_bytes = kc_max * b_bytes_per_k;
    auto* bbuf = reinterpret_cast<uint8_t*>(
        scratch(static_cast<std::size_t>(block_panels * panel_bytes / 4), kSlotThread).data());
    for (int64_t q0 = p0; q0 < p1; q0 += block_panels) {
      const int64_t np = std::min(block_panels, p1 - q0);
      for (int64_t k0 = 0; k0 < in.kpad; k0 += kc_max) {
        const int64_t kc = std::min(kc_max, in.kpad - k0);
        for (int64_t j = 0; j < np; ++j) g.pack_b(in.w, k0, kc, (q0 + j) * kGemmNR, bbuf + j * panel_bytes);
        for (int64_t b = 0; b < row_blocks; ++b) {
          const int mr = static_cast<int>(std::min<int64_t>(kGemmMR, d.rows - b * kGemmMR));
          const uint8_t* a = packed_a + b * a_block_bytes + k0 * a_bytes_per_k;
          for (int64_t j = 0; j < np; ++j) {
            const int64_t n0 = (q0 + j) * kGemmNR;
            const int nr = static_cast<int>(std::min<int64_t>(kGemmNR, d.n - n0));
            g.micro(a, bbuf + j * panel_bytes, kc, in.y + b * kGemmMR * d.n + n0, d.n, mr, nr, k0 > 0);
          }
        }
      }
    }
    epilogue_columns(ks, in, p0 * kGemmNR, std::min(p1 * kGemmNR, d.n));
  });
}

// oneDNN for row-major FLOAT32 x FLOAT32 and BFLOAT16 x BFLOAT16. Returns false if it
// does not apply.
bool try_dnnl(const KernelSet& ks, const RunInputs& in, bool bf16_math, const HostPlan& plan, ExecContext& ctx) {
  if (!dnnl_available() || plan.blocking_given || in.w.layout != Layout::ROW_MAJOR) return false;
  const MatmulDims& d = *in.dims;
  DnnlGemm g;
  g.m = d.rows;
  g.k = d.k;
  g.n = d.n;
  g.b = in.w.data;
  g.ldb = d.n;
  g.c = in.y;
  g.ldc = d.n;
  g.threads = plan.threads;
  if (!bf16_math && in.w.dtype == DataType::FLOAT32) {
    g.a = in.x;
    g.lda = in.kpad;
  } else if (bf16_math && in.w.dtype == DataType::BFLOAT16) {
    // x values are exact in bfloat16: keep their top halves.
    auto* xb = reinterpret_cast<uint16_t*>(scratch(static_cast<std::size_t>(d.rows * in.kpad / 2), kSlotPackedA).data());
    ctx.pool.parallel_for(
        d.rows * in.kpad,
        [&](int64_t i0, int64_t i1, int) {
          for (int64_t i = i0; i < i1; ++i) {
            uint32_t u;
            std::memcpy(&u, in.x + i, 4);
            xb[i] = static_cast<uint16_t>(u >> 16);
          }
        },
        plan.threads, 4096);
    g.bf16 = true;
    g.a = xb;
    g.lda = in.kpad;
  } else {
    return false;
  }
  if (!dnnl_gemm(g)) return false;
  ctx.pool.parallel_for(
      ceil_div(d.n, kGemmNR),
      [&](int64_t p0, int64_t p1, int) { epilogue_columns(ks, in, p0 * kGemmNR, std::min(p1 * kGemmNR, d.n)); },
      plan.threads);
  return true;
}

}  // namespace

void run_host(const RunInputs& in, const OpConfig& config, ExecContext& ctx) {
  const bool bf16_math = host_bf16_math(in.w.dtype);
  const HostPlan plan = host_plan(config, ctx, bf16_math);
  const KernelSet& ks = kernels_for(active_isa());
  if (in.dims->rows <= plan.gemv_rows) {
    run_gemv(ks, in, plan, ctx);
    return;
  }
  if (try_dnnl(ks, in, bf16_math, plan, ctx)) return;
  run_gemm(ks, bf16_math ? ks.gemm_bf16 : ks.gemm_fp32, in, plan, ctx);
}

}  // namespace ttt::ops::matmul_detail
