#include "ttt/op_defaults.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ttt/shape.hpp"

namespace ttt {
namespace {

int64_t tiles(int64_t v) { return ceil_div(std::max<int64_t>(v, 1), kTileSize); }

int64_t largest_divisor_at_most(int64_t v, int64_t cap) {
  for (int64_t d = std::min(v, cap); d >= 1; --d)
    if (v % d == 0) return d;
  return 1;
}

// tt-transformers' compute kernel presets (models/tt_transformers/tt/model_config.py):
// hifi2 = HiFi2 + fp32 accumulation + packer L1 accumulation; lofi = LoFi without fp32
// accumulation; hifi4 = HiFi4, exact math, fp32 accumulation.
ComputeKernelConfig compute_preset(MathFidelity f) {
  switch (f) {
    case MathFidelity::LoFi: return {MathFidelity::LoFi, true, false, true};
    case MathFidelity::HiFi2: return {MathFidelity::HiFi2, true, true, true};
    case MathFidelity::HiFi3: return {MathFidelity::HiFi3, false, true, true};
    case MathFidelity::HiFi4: return {MathFidelity::HiFi4, false, true, true};
  }
  return {};
}

struct GroupPrecision {
  DataType weights;
  MathFidelity fidelity;
};

// The precision table of the Tenstorrent targets (see the header comment).
GroupPrecision ttnn_precision(TensorGroup g, Mode mode, OptimizationTarget t) {
  const bool ff13_low = t == OptimizationTarget::latency || t == OptimizationTarget::memory;
  switch (g) {
    case TensorGroup::FF1_FF3:
      return ff13_low ? GroupPrecision{DataType::BFLOAT4_B, MathFidelity::LoFi}
                      : GroupPrecision{DataType::BFLOAT8_B, MathFidelity::HiFi2};
    case TensorGroup::FF2:
      return t == OptimizationTarget::memory ? GroupPrecision{DataType::BFLOAT4_B, MathFidelity::LoFi}
                                             : GroupPrecision{DataType::BFLOAT8_B, MathFidelity::HiFi2};
    case TensorGroup::KV_CACHE:
      // Prefill attention runs at HiFi4 in every preset; decode at HiFi2.
      return {DataType::BFLOAT8_B, mode == Mode::prefill ? MathFidelity::HiFi4 : MathFidelity::HiFi2};
    case TensorGroup::EMBEDDING:
      return {DataType::BFLOAT16, MathFidelity::HiFi2};
    case TensorGroup::NORM:
      return {DataType::BFLOAT16, MathFidelity::HiFi4};
    default:
      return {DataType::BFLOAT8_B, MathFidelity::HiFi2};
  }
}

DataType cpu_weights(TensorGroup g, OptimizationTarget t) {
  switch (g) {
    // The table is read a row per token: bf16 halves its size (and the cache's) at no
    // cost in speed; norm weights are tiny and stay fp32.
    case TensorGroup::EMBEDDING: return DataType::BFLOAT16;
    case TensorGroup::NORM: return DataType::FLOAT32;
    case TensorGroup::KV_CACHE: return DataType::BFLOAT16;
    case TensorGroup::FF1_FF3:
    case TensorGroup::FF2:
      return t == OptimizationTarget::memory ? DataType::BFLOAT4_B
             : t == OptimizationTarget::latency ? DataType::BFLOAT8_B
                                                : DataType::BFLOAT16;
    default:
      return t == OptimizationTarget::balanced ? DataType::BFLOAT16 : DataType::BFLOAT8_B;
  }
}

bool has_weights(OpKind k) { return k == OpKind::matmul || k == OpKind::embedding || k == OpKind::rms_norm; }

// Largest count of cores (<= available) that divides `t` tiles evenly.
int even_cores(int64_t t, int available) { return static_cast<int>(largest_divisor_at_most(t, available)); }

}  // namespace

Matmul2DConfig matmul_2d_config(int64_t m, int64_t k, int64_t n, CoreGrid grid, bool fp32_acc) {
  const int64_t mt = tiles(m), kt = tiles(k), nt = tiles(n);
  Matmul2DConfig c;
  c.grid = CoreGrid{static_cast<int>(std::min<int64_t>(grid.x, nt)), static_cast<int>(std::min<int64_t>(grid.y, mt))};
  c.per_core_M = static_cast<int>(ceil_div(mt, c.grid.y));
  c.per_core_N = static_cast<int>(ceil_div(nt, c.grid.x));
  c.in0_block_w = static_cast<int>(largest_divisor_at_most(kt, 8));
  c.out_subblock_h = 1;
  // A subblock may use 8 destination tiles (4 with fp32 accumulation); with h = 1,
  // tt-transformers takes the widest w <= 4 dividing per_core_N, which fits both.
  (void)fp32_acc;
  c.out_subblock_w = static_cast<int>(largest_divisor_at_most(c.per_core_N, 4));
  c.out_block_h = c.per_core_M;
  c.out_block_w = c.per_core_N;
  c.fuse_batch = true;
  return c;
}

Matmul1DConfig matmul_1d_config(int64_t m, int64_t k, int64_t n, CoreGrid grid) {
  const int64_t mt = tiles(m), kt = tiles(k), nt = tiles(n);
  Matmul1DConfig c;
  const int64_t cores = std::min<int64_t>(grid.count(), nt);
  c.grid = grid;
  c.per_core_M = static_cast<int>(mt);
  c.per_core_N = static_cast<int>(ceil_div(nt, cores));
  c.in0_block_w = static_cast<int>(largest_divisor_at_most(kt, 8));
  c.out_subblock_h = 1;
  c.out_subblock_w = static_cast<int>(largest_divisor_at_most(c.per_core_N, 4));
  c.out_block_h = c.per_core_M;
  c.out_block_w = c.per_core_N;
  c.fuse_batch = true;
  c.mcast_in0 = true;
  return c;
}

MatmulDramShardedConfig matmul_dram_sharded_config(int64_t m, int64_t k, int64_t n, int cores, bool fp32_acc) {
  (void)fp32_acc;
  (void)m;
  const int64_t kt = tiles(k), nt = tiles(n);
  const int c = even_cores(kt, cores);
  MatmulDramShardedConfig cfg;
  cfg.per_core_M = 1;
  cfg.in0_block_w = static_cast<int>(kt / c);
  cfg.per_core_N = static_cast<int>(ceil_div(nt, c));
  return cfg;
}

OpConfig device_default_config(const std::string& op_name, const OpShape& shape, Mode mode, const DeviceSpec& device) {
  (void)mode;
  OpConfig c;
  c.op_name = op_name;
  if (!device.is_ttnn()) {
    c.dtype = DataType::FLOAT32;
    c.layout = Layout::ROW_MAJOR;
    c.memory_config = kDramInterleaved;
    c.kernel_config = CpuKernelConfig{};
    c.compute_kernel_config = compute_preset(MathFidelity::HiFi4);
    if (has_weights(shape.kind)) c.weights_dtype = DataType::FLOAT32;
    if (shape.kind == OpKind::kv_cache) c.dtype = DataType::FLOAT32;
    return c;
  }
  // TTNN's own defaults: bf16 tiles in DRAM, LoFi with approximations, no fp32 accumulation.
  c.dtype = DataType::BFLOAT16;
  c.layout = Layout::TILE;
  c.memory_config = kDramInterleaved;
  c.compute_kernel_config = ComputeKernelConfig{};
  if (has_weights(shape.kind)) c.weights_dtype = DataType::BFLOAT16;
  return c;
}

OpConfig module_default_config(const std::string& op_name, const OpShape& s, Mode mode, OptimizationTarget target,
                               const DeviceSpec& device, std::string* rule) {
  OpConfig c = device_default_config(op_name, s, mode, device);
  c.sharding = s.split;
  const std::string split_why =
      s.split == ChipSplit::REPLICATED
          ? (device.mesh.chips() > 1 && has_weights(s.kind) ? std::string("; replicated on every chip") : std::string())
          : fmt::format("; {} split over {} chips", to_string(s.split), s.chips);
  std::string why;
  if (!device.is_ttnn()) {
    if (has_weights(s.kind)) c.weights_dtype = cpu_weights(s.group, target);
    if (s.kind == OpKind::kv_cache) c.dtype = cpu_weights(TensorGroup::KV_CACHE, target);
    why = fmt::format("cpu/{}: fp32 activations; {} weights for {}", to_string(target),
                      c.weights_dtype ? std::string(to_string(*c.weights_dtype)) : std::string("no"), to_string(s.group));
    if (rule) *rule = why + split_why;
    return c;
  }

  const GroupPrecision p = ttnn_precision(s.group, mode, target);
  c.compute_kernel_config = compute_preset(p.fidelity);
  if (has_weights(s.kind)) c.weights_dtype = p.weights;
  const bool keep_in_dram = target == OptimizationTarget::memory;
  const int cores = device.cores_per_chip();

  switch (s.kind) {
    case OpKind::matmul: {
      const bool fp32_acc = c.compute_kernel_config.fp32_dest_acc_en;
      const int64_t mt = tiles(s.m), nt = tiles(s.n);
      if (mode == Mode::decode && mt == 1) {
        // One tile row of users: activations multicast to every core, each core streams
        // its own columns of the weights (the DRAM-sharded variant needs width-sharded
        // inputs; `ttt tune` can pick it).
        c.kernel_config = matmul_1d_config(s.m, s.k, s.n, device.grid);
        why = fmt::format("decode, M = 1 tile: 1-D multicast of x, N split over up to {} cores",
                          std::min<int64_t>(nt, cores));
        if (!keep_in_dram) {
          c.memory_config = kL1Interleaved;
          why += "; output in L1";
        }
      } else {
        c.kernel_config = matmul_2d_config(s.m, s.k, s.n, device.grid, fp32_acc);
        why = fmt::format("{} M = {} tiles: 2-D multicast over the {} grid, output in DRAM", to_string(mode), mt,
                          device.grid.str());
      }
      break;
    }
    case OpKind::sdpa: {
      SdpaConfig sd;
      sd.grid = device.grid;
      if (mode == Mode::prefill) {
        // Long prompts use larger chunks (tt-transformers: 256 from 2048 tokens).
        sd.q_chunk_size = s.seq >= 2048 ? 256 : 64;
        sd.k_chunk_size = s.seq >= 2048 ? 512 : 64;
      } else {
        sd.q_chunk_size = 32;
        // sdpa_decode needs a k chunk that divides the cache length: up to 256 (8 tiles).
        sd.k_chunk_size = static_cast<int>(kTileSize * largest_divisor_at_most(tiles(s.kv_seq), 8));
      }
      c.kernel_config = sd;
      why = fmt::format("{} attention chunks q {} k {}; {} for its matmuls", to_string(mode), sd.q_chunk_size,
                        sd.k_chunk_size, to_string(p.fidelity));
      break;
    }
    case OpKind::kv_cache:
      c.dtype = p.weights;
      c.memory_config = kDramInterleaved;
      why = fmt::format("KV cache in {} in DRAM", to_string(c.dtype));
      break;
    case OpKind::all_reduce:
    case OpKind::all_gather:
      why = fmt::format("{} over the {} chips' ring, in the partials' bf16 tiles", to_string(s.kind),
                        device.mesh.chips());
      break;
    default:
      why = "element-wise: bf16 tiles";
      break;
  }
  if (s.kind != OpKind::matmul && s.kind != OpKind::kv_cache && s.kind != OpKind::embedding &&
      s.kind != OpKind::rotary && mode == Mode::decode && !keep_in_dram) {
    c.memory_config = kL1Interleaved;
    why += "; decode activations in L1";
  } else if (s.kind == OpKind::rotary && mode == Mode::decode) {
    why += "; output in DRAM (sdpa_decode reads q from DRAM or height-sharded L1)";
  }
  if (rule) *rule = why + split_why;
  return c;
}

void apply_precision_intent(OpConfig& cfg, Precision p, const OpShape& shape, Mode mode, const DeviceSpec& device) {
  (void)mode;
  const bool weights = has_weights(shape.kind);
  if (!device.is_ttnn()) {
    const DataType w = p == Precision::high ? DataType::FLOAT32 : p == Precision::medium ? DataType::BFLOAT16
                                                                                        : DataType::BFLOAT8_B;
    // Block floats exist for matmul weights only (norm and embedding tables stay bf16).
    if (weights) cfg.weights_dtype = is_block_float(w) && shape.kind != OpKind::matmul ? DataType::BFLOAT16 : w;
    if (shape.kind == OpKind::kv_cache) cfg.dtype = p == Precision::high ? DataType::FLOAT32 : DataType::BFLOAT16;
    return;
  }
  // Tenstorrent table: high = bf16 + HiFi4 + fp32 accumulation; medium = bfloat8_b +
  // HiFi2; low = bfloat4_b + LoFi (the KV cache never goes below bfloat8_b).
  switch (p) {
    case Precision::high:
      cfg.compute_kernel_config = compute_preset(MathFidelity::HiFi4);
      if (weights) cfg.weights_dtype = DataType::BFLOAT16;
      if (shape.kind == OpKind::kv_cache) cfg.dtype = DataType::BFLOAT16;
      break;
    case Precision::medium:
      cfg.compute_kernel_config = compute_preset(MathFidelity::HiFi2);
      if (weights) cfg.weights_dtype = shape.kind == OpKind::matmul ? DataType::BFLOAT8_B : DataType::BFLOAT16;
      if (shape.kind == OpKind::kv_cache) cfg.dtype = DataType::BFLOAT8_B;
      break;
    case Precision::low:
      cfg.compute_kernel_config = compute_preset(MathFidelity::LoFi);
      if (weights && shape.kind == OpKind::matmul) cfg.weights_dtype = DataType::BFLOAT4_B;
      if (shape.kind == OpKind::kv_cache) cfg.dtype = DataType::BFLOAT8_B;
      break;
  }
  if (auto* mm = std::get_if<Matmul2DConfig>(&cfg.kernel_config)) {
    // fp32 accumulation halves the destination tiles a subblock may use.
    while (cfg.compute_kernel_config.fp32_dest_acc_en && mm->out_subblock_h * mm->out_subblock_w > 4)
      mm->out_subblock_w = static_cast<int>(largest_divisor_at_most(mm->per_core_N, mm->out_subblock_w - 1));
  }
}

void apply_memory_intent(OpConfig& cfg, BufferType where, const OpShape& shape, const DeviceSpec& device) {
  (void)shape;
  (void)device;
  if (where == BufferType::DRAM) {
    cfg.memory_config = kDramInterleaved;
  } else if (cfg.memory_config.buffer_type != BufferType::L1) {
    cfg.memory_config = kL1Interleaved;
  }
}

}  // namespace ttt
