// Checks of ttnn matmul program configs against the shapes, as ttnn's matmul validation
// makes them (ttnn/cpp/ttnn/operations/matmul/device/; TTNN_FACTS.md "Matmul program
// configs"). Sizes count tiles: Mt = batch * ceil(M / 32) (batch folded into M),
// Kt = ceil(K / 32), Nt = ceil(N / 32).
#include <string>
#include <variant>

#include <fmt/format.h>

#include "ops/matmul/matmul_internal.hpp"

namespace ttt::ops::matmul_detail {
namespace {

struct Tiles {
  int64_t mt = 1, kt = 1, nt = 1;
};

// "1, 2, 4, 8, 16, 32 or 64": the divisors of v (the first 12).
std::string divisors(int64_t v) {
  std::string out;
  int shown = 0;
  std::vector<int64_t> all;
  for (int64_t d = 1; d <= v; ++d)
    if (v % d == 0) all.push_back(d);
  for (std::size_t i = 0; i < all.size() && shown < 12; ++i, ++shown) {
    if (!out.empty()) out += (i + 1 == all.size() ? " or " : ", ");
    out += std::to_string(all[i]);
  }
  if (static_cast<int>(all.size()) > shown) out += ", ...";
  return out;
}

void check_positive(const char* field, int64_t v) {
  TTT_CHECK(v > 0, InvalidConfig, "{}: kernel_config.{} is {}; it must be at least 1", kOp, field, v);
}

void check_grid(const CoreGrid& grid, const DeviceSpec& device) {
  TTT_CHECK(grid.x >= 1 && grid.y >= 1 && grid.x <= device.grid.x && grid.y <= device.grid.y, InvalidConfig,
            "{}: kernel_config.grid {} does not fit the compute grid {} of {}; use at most {}", kOp, grid.str(),
            device.grid.str(), device.name, device.grid.str());
}

void check_in0_block_w(int in0_block_w, const Tiles& t) {
  check_positive("in0_block_w", in0_block_w);
  TTT_CHECK(t.kt % in0_block_w == 0, InvalidConfig,
            "{}: in0_block_w {} does not divide K tiles {} (kernel_config.in0_block_w); use {}", kOp, in0_block_w,
            t.kt, divisors(t.kt));
}

// Subblocks: nonzero, at most 8 tiles in the destination (4 with fp32 accumulation),
// dividing the per-core block.
void check_subblocks(int sub_h, int sub_w, int per_core_m, int per_core_n, const OpConfig& config) {
  check_positive("out_subblock_h", sub_h);
  check_positive("out_subblock_w", sub_w);
  check_positive("per_core_M", per_core_m);
  check_positive("per_core_N", per_core_n);
  const bool fp32 = config.compute_kernel_config.fp32_dest_acc_en;
  const int limit = fp32 ? 4 : 8;
  TTT_CHECK(sub_h * sub_w <= limit, InvalidConfig,
            "{}: out_subblock_h * out_subblock_w = {} * {} = {} exceeds {} tiles of the destination register{} "
            "(kernel_config.out_subblock_h/w); use e.g. out_subblock_h 1, out_subblock_w {}",
            kOp, sub_h, sub_w, sub_h * sub_w, limit, fp32 ? " with fp32_dest_acc_en" : "", fp32 ? 4 : 8);
  TTT_CHECK(per_core_m % sub_h == 0, InvalidConfig,
            "{}: per_core_M {} is not a multiple of out_subblock_h {} (kernel_config.out_subblock_h); use a divisor: {}",
            kOp, per_core_m, sub_h, divisors(per_core_m));
  TTT_CHECK(per_core_n % sub_w == 0, InvalidConfig,
            "{}: per_core_N {} is not a multiple of out_subblock_w {} (kernel_config.out_subblock_w); use a divisor: {}",
            kOp, per_core_n, sub_w, divisors(per_core_n));
}

void check_out_block(int out_block_h, int out_block_w, int sub_h, int sub_w, int per_core_m, int per_core_n) {
  check_positive("out_block_h", out_block_h);
  check_positive("out_block_w", out_block_w);
  TTT_CHECK(per_core_m % out_block_h == 0 && out_block_h % sub_h == 0, InvalidConfig,
            "{}: out_block_h {} must divide per_core_M {} and be a multiple of out_subblock_h {} "
            "(kernel_config.out_block_h)",
            kOp, out_block_h, per_core_m, sub_h);
  TTT_CHECK(per_core_n % out_block_w == 0 && out_block_w % sub_w == 0, InvalidConfig,
            "{}: out_block_w {} must divide per_core_N {} and be a multiple of out_subblock_w {} "
            "(kernel_config.out_block_w)",
            kOp, out_block_w, per_core_n, sub_w);
}

void check(const MatmulReuseConfig& c, const Tiles& t, const MatmulArgs&, const OpConfig& config,
           const DeviceSpec& device) {
  check_grid(c.grid, device);
  check_in0_block_w(c.in0_block_w, t);
  check_subblocks(c.out_subblock_h, c.out_subblock_w, c.per_core_M, c.per_core_N, config);
  const int64_t blocks = ceil_div(t.mt, c.per_core_M) * ceil_div(t.nt, c.per_core_N);
  TTT_CHECK(blocks <= c.grid.count(), InvalidConfig,
            "{}: per_core_M {} x per_core_N {} cut {} x {} output tiles into {} blocks, more than the {} cores of "
            "kernel_config.grid {}; raise per_core_M / per_core_N or the grid",
            kOp, c.per_core_M, c.per_core_N, t.mt, t.nt, blocks, c.grid.count(), c.grid.str());
}

void check(const Matmul2DConfig& c, const Tiles& t, const MatmulArgs&, const OpConfig& config,
           const DeviceSpec& device) {
  check_grid(c.grid, device);
  check_in0_block_w(c.in0_block_w, t);
  check_subblocks(c.out_subblock_h, c.out_subblock_w, c.per_core_M, c.per_core_N, config);
  check_out_block(c.out_block_h, c.out_block_w, c.out_subblock_h, c.out_subblock_w, c.per_core_M, c.per_core_N);
  // M blocks run along the grid's rows and N blocks along its columns (swapped with
  // transpose_mcast).
  const int rows = c.transpose_mcast ? c.grid.x : c.grid.y;
  const int cols = c.transpose_mcast ? c.grid.y : c.grid.x;
  const int64_t m_blocks = ceil_div(t.mt, c.per_core_M);
  const int64_t n_blocks = ceil_div(t.nt, c.per_core_N);
  TTT_CHECK(m_blocks <= rows, InvalidConfig,
            "{}: per_core_M {} needs {} core rows for {} M tiles, more than the {} of kernel_config.grid {}{}; use "
            "per_core_M >= {}",
            kOp, c.per_core_M, m_blocks, t.mt, rows, c.grid.str(), c.transpose_mcast ? " (transposed)" : "",
            ceil_div(t.mt, rows));
  TTT_CHECK(n_blocks <= cols, InvalidConfig,
            "{}: per_core_N {} needs {} core columns for {} N tiles, more than the {} of kernel_config.grid {}{}; use "
            "per_core_N >= {}",
            kOp, c.per_core_N, n_blocks, t.nt, cols, c.grid.str(), c.transpose_mcast ? " (transposed)" : "",
            ceil_div(t.nt, cols));
  TTT_CHECK(!config.memory_config.is_sharded() ||
                config.memory_config.memory_layout == TensorMemoryLayout::BLOCK_SHARDED,
            InvalidConfig, "{}: a 2-D multicast matmul writes a BLOCK_SHARDED or interleaved output, not {}", kOp,
            to_string(config.memory_config.memory_layout));
}

void check(const Matmul1DConfig& c, const Tiles& t, const MatmulArgs&, const OpConfig& config,
           const DeviceSpec& device) {
  check_grid(c.grid, device);
  check_in0_block_w(c.in0_block_w, t);
  check_subblocks(c.out_subblock_h, c.out_subblock_w, c.per_core_M, c.per_core_N, config);
  check_out_block(c.out_block_h, c.out_block_w, c.out_subblock_h, c.out_subblock_w, c.per_core_M, c.per_core_N);
  const int64_t blocks = ceil_div(t.mt, c.per_core_M) * ceil_div(t.nt, c.per_core_N);
  TTT_CHECK(blocks <= c.grid.count(), InvalidConfig,
            "{}: per_core_M {} x per_core_N {} cut {} x {} output tiles into {} blocks, more than the {} cores of "
            "kernel_config.grid {}; raise per_core_M / per_core_N or the grid",
            kOp, c.per_core_M, c.per_core_N, t.mt, t.nt, blocks, c.grid.count(), c.grid.str());
}

void check(const MatmulDramShardedConfig& c, const Tiles& t, const MatmulArgs& args, const OpConfig& config,
           const DeviceSpec&) {
  check_positive("per_core_M", c.per_core_M);
  check_positive("per_core_N", c.per_core_N);
  check_in0_block_w(c.in0_block_w, t);
  const MemoryConfig& xm = args.x.memory_config;
  TTT_CHECK(xm.buffer_type == BufferType::L1 && xm.memory_layout == TensorMemoryLayout::WIDTH_SHARDED, InvalidConfig,
            "{}: the DRAM-sharded matmul reads x WIDTH_SHARDED in L1; x is {} (x.memory_config)", kOp, xm.str());
  const MemoryConfig& wm = args.weight.memory_config;
  TTT_CHECK(wm.buffer_type == BufferType::DRAM && wm.memory_layout == TensorMemoryLayout::WIDTH_SHARDED,
            InvalidConfig,
            "{}: the DRAM-sharded matmul reads the weight WIDTH_SHARDED over the DRAM banks; it is {} "
            "(weight.memory_config)",
            kOp, wm.str());
  TTT_CHECK(t.mt == 1 && c.per_core_M == 1, InvalidConfig,
            "{}: the DRAM-sharded matmul takes one tile of rows (M <= 32, per_core_M 1); found {} M tiles, "
            "per_core_M {} (kernel_config.per_core_M); use a 1-D or 2-D config for more rows",
            kOp, t.mt, c.per_core_M);
  const int cores = xm.shard_spec ? xm.shard_spec->grid.count() : 0;
  TTT_CHECK(cores == 0 || c.per_core_N * cores >= t.nt, InvalidConfig,
            "{}: per_core_N {} on the {} cores of x's shard grid covers {} of the {} N tiles; use per_core_N >= {}",
            kOp, c.per_core_N, cores, c.per_core_N * cores, t.nt, ceil_div(t.nt, std::max(1, cores)));
  (void)config;
}

}  // namespace

void check_program_config(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device) {
  const MatmulDims d = matmul_dims(args);
  const Tiles t{d.batch * ceil_div(d.m, kTileSize), ceil_div(d.k, kTileSize), ceil_div(d.n, kTileSize)};
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, MatmulReuseConfig> || std::is_same_v<C, Matmul2DConfig> ||
                      std::is_same_v<C, Matmul1DConfig> || std::is_same_v<C, MatmulDramShardedConfig>) {
          check(c, t, args, config, device);
        }
      },
      config.kernel_config);
}

}  // namespace ttt::ops::matmul_detail
