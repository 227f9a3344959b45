// The candidate configs of one op, per op kind and device family, one axis at a time
// around the op's current config. Nothing here checks a candidate against the shapes:
// the tuner builds the tree with it and drops what validate() refuses.
#include <algorithm>
#include <set>

#include "ttt/op_defaults.hpp"
#include "ttt/shape.hpp"
#include "ttt/tune.hpp"

namespace ttt {
namespace {

int64_t tiles(int64_t v) { return ceil_div(std::max<int64_t>(v, 1), kTileSize); }

// tt-transformers' compute kernel settings, and the two variants of HiFi2 and LoFi
// with the accumulation switched.
std::vector<ComputeKernelConfig> compute_choices() {
  return {
      {MathFidelity::LoFi, true, false, true},   {MathFidelity::LoFi, true, true, true},
      {MathFidelity::HiFi2, true, false, true},  {MathFidelity::HiFi2, true, true, true},
      {MathFidelity::HiFi3, false, true, true},  {MathFidelity::HiFi4, false, true, true},
  };
}

// fp32 accumulation halves the destination tiles a matmul subblock may use: shrink the
// subblock width (to a divisor of per_core_N) until it fits.
void fit_subblocks(OpConfig& c) {
  const int limit = c.compute_kernel_config.fp32_dest_acc_en ? 4 : 8;
  std::visit(
      [&](auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, Matmul2DConfig> || std::is_same_v<K, Matmul1DConfig> ||
                      std::is_same_v<K, MatmulReuseConfig>) {
          while (k.out_subblock_h * k.out_subblock_w > limit && k.out_subblock_w > 1) {
            int w = k.out_subblock_w - 1;
            while (w > 1 && k.per_core_N % w != 0) --w;
            k.out_subblock_w = w;
          }
        }
      },
      c.kernel_config);
}

// Grids to try: the whole grid, then halving rows, then halving columns of one row.
std::vector<CoreGrid> grid_choices(const CoreGrid& g) {
  std::vector<CoreGrid> out{g};
  for (int y = g.y / 2; y >= 1; y /= 2) out.push_back({g.x, y});
  for (int x = g.x / 2; x >= 1; x /= 2) out.push_back({x, 1});
  return out;
}

// Adds `c` to the axis unless it equals the current config or one already there.
void add(TuneAxis& axis, const OpConfig& current, const OpConfig& c) {
  if (c == current) return;
  if (std::find(axis.values.begin(), axis.values.end(), c) != axis.values.end()) return;
  axis.values.push_back(c);
}

TuneAxis weights_axis(const OpConfig& cur, const std::vector<DataType>& dtypes) {
  TuneAxis axis{"weights", {}};
  for (DataType d : dtypes) {
    OpConfig c = cur;
    c.weights_dtype = d;
    add(axis, cur, c);
  }
  return axis;
}

TuneAxis math_axis(const OpConfig& cur) {
  TuneAxis axis{"math", {}};
  for (const ComputeKernelConfig& k : compute_choices()) {
    OpConfig c = cur;
    c.compute_kernel_config = k;
    fit_subblocks(c);
    add(axis, cur, c);
  }
  return axis;
}

TuneAxis memory_axis(const OpConfig& cur) {
  TuneAxis axis{"memory", {}};
  for (const MemoryConfig& m : {kDramInterleaved, kL1Interleaved}) {
    OpConfig c = cur;
    c.memory_config = m;
    add(axis, cur, c);
  }
  return axis;
}

// Program configs of a ttnn matmul: 1-D multicast over smaller grids, 2-D multicast, the
// DRAM-sharded GEMV, and the blocking parameters of the current config.
TuneAxis ttnn_matmul_program_axis(const OpConfig& cur, const OpShape& s, const DeviceSpec& d) {
  TuneAxis axis{"program", {}};
  const int64_t kt = tiles(s.k);
  auto with = [&](ProgramConfig pc) {
    OpConfig c = cur;
    c.kernel_config = std::move(pc);
    fit_subblocks(c);
    add(axis, cur, c);
  };
  for (const CoreGrid& g : grid_choices(d.grid)) with(matmul_1d_config(s.m, s.k, s.n, g));
  with(matmul_2d_config(s.m, s.k, s.n, d.grid, cur.compute_kernel_config.fp32_dest_acc_en));
  {
    Matmul2DConfig t = matmul_2d_config(s.m, s.k, s.n, CoreGrid{d.grid.y, d.grid.x}, false);
    t.transpose_mcast = true;
    with(t);
  }
  with(matmul_dram_sharded_config(s.m, s.k, s.n, d.cores_per_chip(), cur.compute_kernel_config.fp32_dest_acc_en));
  // Blocking of the current config: K block and output subblock widths.
  std::visit(
      [&](const auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, Matmul2DConfig> || std::is_same_v<K, Matmul1DConfig> ||
                      std::is_same_v<K, MatmulReuseConfig>) {
          for (int w : {1, 2, 4, 8, 16})
            if (kt % w == 0) {
              K v = k;
              v.in0_block_w = w;
              with(v);
            }
          for (int w = 1; w <= 8; w *= 2)
            if (k.per_core_N % w == 0) {
              K v = k;
              v.out_subblock_w = w;
              with(v);
            }
        }
      },
      cur.kernel_config);
  return axis;
}

TuneAxis ttnn_sdpa_program_axis(const OpConfig& cur, const OpShape& s, Mode mode) {
  TuneAxis axis{"program", {}};
  SdpaConfig base;
  if (const auto* c = std::get_if<SdpaConfig>(&cur.kernel_config)) base = *c;
  const std::vector<int> qs = mode == Mode::decode ? std::vector<int>{base.q_chunk_size}
                                                   : std::vector<int>{32, 64, 128, 256};
  for (int q : qs)
    for (int k : {32, 64, 128, 256, 512}) {
      if (mode == Mode::prefill && (q > round_up(s.seq, kTileSize) || k > round_up(s.seq, kTileSize))) continue;
      OpConfig c = cur;
      SdpaConfig v = base;
      v.q_chunk_size = q;
      v.k_chunk_size = k;
      c.kernel_config = v;
      add(axis, cur, c);
    }
  return axis;
}

// Host kernels: thread counts, and the GEMM blocking when the matmul has many rows.
TuneAxis cpu_program_axis(const OpConfig& cur, const OpShape& s, const DeviceSpec& d) {
  TuneAxis axis{"program", {}};
  CpuKernelConfig base;
  if (const auto* c = std::get_if<CpuKernelConfig>(&cur.kernel_config)) base = *c;
  auto with = [&](const CpuKernelConfig& k) {
    OpConfig c = cur;
    c.kernel_config = k;
    add(axis, cur, c);
  };
  std::set<int> threads{0};
  for (int t = 1; t < d.cores_per_chip(); t *= 2) threads.insert(t);
  for (int t : threads) {
    CpuKernelConfig k = base;
    k.threads = t;
    with(k);
  }
  if (s.kind == OpKind::matmul && s.m > 16) {
    for (auto [bn, bk] : {std::pair{128, 128}, {256, 256}, {512, 256}, {256, 512}}) {
      CpuKernelConfig k = base;
      k.block_n = bn;
      k.block_k = bk;
      with(k);
    }
  }
  return axis;
}

}  // namespace

std::vector<TuneAxis> candidate_axes(const ResolvedOp& op, Mode mode, const DeviceSpec& device) {
  const OpConfig& cur = op.config;
  const OpShape& s = op.shape;
  std::vector<TuneAxis> axes;
  auto push = [&](TuneAxis a) {
    if (!a.values.empty()) axes.push_back(std::move(a));
  };
  if (!device.is_ttnn()) {
    switch (s.kind) {
      case OpKind::matmul:
        push(weights_axis(cur, {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B}));
        push(cpu_program_axis(cur, s, device));
        break;
      case OpKind::kv_cache: {
        TuneAxis a{"cache_dtype", {}};
        for (DataType d : {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B}) {
          OpConfig c = cur;
          c.dtype = d;
          add(a, cur, c);
        }
        push(std::move(a));
        break;
      }
      case OpKind::embedding:
        break;
      default:
        push(cpu_program_axis(cur, s, device));
        break;
    }
    return axes;
  }
  switch (s.kind) {
    case OpKind::matmul:
      push(weights_axis(cur, {DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B}));
      push(math_axis(cur));
      push(memory_axis(cur));
      push(ttnn_matmul_program_axis(cur, s, device));
      break;
    case OpKind::kv_cache: {
      TuneAxis a{"cache_dtype", {}};
      for (DataType d : {DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
        OpConfig c = cur;
        c.dtype = d;
        add(a, cur, c);
      }
      push(std::move(a));
      break;
    }
    case OpKind::sdpa:
      push(math_axis(cur));
      push(ttnn_sdpa_program_axis(cur, s, mode));
      break;
    case OpKind::rms_norm:
      push(math_axis(cur));
      push(memory_axis(cur));
      break;
    default:
      push(memory_axis(cur));
      break;
  }
  return axes;
}

}  // namespace ttt
