// OpConfig: everything that decides how one named op runs on a device (the seed's
// TTNNOpConfig). Plain structs; each lists its fields once in visit_fields, which
// printing, equality, hashing and YAML walk.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "ttt/device.hpp"
#include "ttt/dtype.hpp"
#include "ttt/enum.hpp"
#include "ttt/fields.hpp"
#include "ttt/memory_config.hpp"

namespace ttt {

TTT_ENUM(UnaryActivation, NONE, SILU, GELU, RELU)

// ttnn MatmulMultiCoreReuseProgramConfig.
struct MatmulReuseConfig {
  CoreGrid grid{8, 8};
  int in0_block_w = 1;
  int out_subblock_h = 1;
  int out_subblock_w = 1;
  int per_core_M = 1;
  int per_core_N = 1;
  bool operator==(const MatmulReuseConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("in0_block_w", s.in0_block_w);
    v("out_subblock_h", s.out_subblock_h);
    v("out_subblock_w", s.out_subblock_w);
    v("per_core_M", s.per_core_M);
    v("per_core_N", s.per_core_N);
  }
};

// ttnn MatmulMultiCoreReuseMultiCastProgramConfig (2-D multicast).
struct Matmul2DConfig {
  CoreGrid grid{8, 8};
  int in0_block_w = 1;
  int out_subblock_h = 1;
  int out_subblock_w = 1;
  int out_block_h = 1;
  int out_block_w = 1;
  int per_core_M = 1;
  int per_core_N = 1;
  bool transpose_mcast = false;
  UnaryActivation fused_activation = UnaryActivation::NONE;
  bool fuse_batch = true;
  bool operator==(const Matmul2DConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("in0_block_w", s.in0_block_w);
    v("out_subblock_h", s.out_subblock_h);
    v("out_subblock_w", s.out_subblock_w);
    v("out_block_h", s.out_block_h);
    v("out_block_w", s.out_block_w);
    v("per_core_M", s.per_core_M);
    v("per_core_N", s.per_core_N);
    v("transpose_mcast", s.transpose_mcast);
    v("fused_activation", s.fused_activation);
    v("fuse_batch", s.fuse_batch);
  }
};

// ttnn MatmulMultiCoreReuseMultiCast1DProgramConfig.
struct Matmul1DConfig {
  CoreGrid grid{8, 8};
  int in0_block_w = 1;
  int out_subblock_h = 1;
  int out_subblock_w = 1;
  int out_block_h = 1;
  int out_block_w = 1;
  int per_core_M = 1;
  int per_core_N = 1;
  bool fuse_batch = true;
  UnaryActivation fused_activation = UnaryActivation::NONE;
  bool mcast_in0 = true;
  bool gather_in0 = false;
  bool operator==(const Matmul1DConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("in0_block_w", s.in0_block_w);
    v("out_subblock_h", s.out_subblock_h);
    v("out_subblock_w", s.out_subblock_w);
    v("out_block_h", s.out_block_h);
    v("out_block_w", s.out_block_w);
    v("per_core_M", s.per_core_M);
    v("per_core_N", s.per_core_N);
    v("fuse_batch", s.fuse_batch);
    v("fused_activation", s.fused_activation);
    v("mcast_in0", s.mcast_in0);
    v("gather_in0", s.gather_in0);
  }
};

// ttnn MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig (decode GEMV).
struct MatmulDramShardedConfig {
  int in0_block_w = 1;
  int per_core_M = 1;
  int per_core_N = 1;
  UnaryActivation fused_activation = UnaryActivation::NONE;
  bool operator==(const MatmulDramShardedConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("in0_block_w", s.in0_block_w);
    v("per_core_M", s.per_core_M);
    v("per_core_N", s.per_core_N);
    v("fused_activation", s.fused_activation);
  }
};

// ttnn SDPAProgramConfig: attention computed in chunks of queries and keys.
struct SdpaConfig {
  CoreGrid grid{8, 8};
  int q_chunk_size = 32;
  int k_chunk_size = 32;
  bool exp_approx_mode = false;
  bool operator==(const SdpaConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("q_chunk_size", s.q_chunk_size);
    v("k_chunk_size", s.k_chunk_size);
    v("exp_approx_mode", s.exp_approx_mode);
  }
};

// ttnn LayerNormShardedMultiCoreProgramConfig / default norm config.
struct NormConfig {
  CoreGrid grid{8, 8};
  int subblock_w = 1;
  int block_h = 1;
  int block_w = 1;
  bool inplace = false;
  bool operator==(const NormConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("grid", s.grid);
    v("subblock_w", s.subblock_w);
    v("block_h", s.block_h);
    v("block_w", s.block_w);
    v("inplace", s.inplace);
  }
};

// Host kernels: how many threads and how the work is blocked for the caches.
struct CpuKernelConfig {
  int threads = 0;    // 0: every core of the device
  int block_m = 0;    // rows of the output per block (0: kernel's choice)
  int block_n = 0;    // columns of the output per block (0: kernel's choice)
  int block_k = 0;    // reduction depth per block (0: kernel's choice)
  bool operator==(const CpuKernelConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("threads", s.threads);
    v("block_m", s.block_m);
    v("block_n", s.block_n);
    v("block_k", s.block_k);
  }
};

using ProgramConfig = std::variant<std::monostate, MatmulReuseConfig, Matmul2DConfig, Matmul1DConfig,
                                   MatmulDramShardedConfig, SdpaConfig, NormConfig, CpuKernelConfig>;

// Names of the ProgramConfig alternatives, in variant order (for printing and YAML).
template <>
struct VariantNames<ProgramConfig> {
  static constexpr const char* names[] = {"none", "matmul_reuse", "matmul_2d", "matmul_1d",
                                          "matmul_dram_sharded", "sdpa", "norm", "cpu"};
};

// ttnn WormholeComputeKernelConfig; defaults are TTNN's.
struct ComputeKernelConfig {
  MathFidelity math_fidelity = MathFidelity::LoFi;
  bool math_approx_mode = true;
  bool fp32_dest_acc_en = false;
  bool packer_l1_acc = false;
  bool operator==(const ComputeKernelConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("math_fidelity", s.math_fidelity);
    v("math_approx_mode", s.math_approx_mode);
    v("fp32_dest_acc_en", s.fp32_dest_acc_en);
    v("packer_l1_acc", s.packer_l1_acc);
  }
};

// How an op's work is split over the chips of a multi-chip device (tensor parallel).
TTT_ENUM(ChipSplit, REPLICATED, COLUMN, ROW)

struct OpConfig {
  std::string op_name;
  MemoryConfig memory_config{};          // where the op's output lives
  ProgramConfig kernel_config{};         // program config (how the op is blocked and gridded)
  ComputeKernelConfig compute_kernel_config{};
  DataType dtype = DataType::BFLOAT16;   // output (or cache) dtype
  Layout layout = Layout::TILE;          // output layout
  std::optional<DataType> weights_dtype; // stored format of the op's weights, when it has any
  ChipSplit sharding = ChipSplit::REPLICATED;  // across chips

  bool operator==(const OpConfig&) const = default;
  template <typename Self, typename V>
  static void visit_fields(Self& s, V&& v) {
    v("op_name", s.op_name);
    v("memory_config", s.memory_config);
    v("kernel_config", s.kernel_config);
    v("compute_kernel_config", s.compute_kernel_config);
    v("dtype", s.dtype);
    v("layout", s.layout);
    v("weights_dtype", s.weights_dtype);
    v("sharding", s.sharding);
  }
};

}  // namespace ttt
