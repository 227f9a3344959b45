// Default op configs, computed from the op's shapes and the device spec: no table per
// model. A module describes each of its ops (kind, tensor group, shapes) and asks for
// its default on the device, in the mode, for the optimization target.
//
// Precision per tensor group (weights dtype, math fidelity, fp32 accumulation) follows
// the scheme tt-transformers users know (docs/hardware_config.md has the table):
//   balanced (its default preset):  bfloat8_b weights and KV cache, HiFi2, HiFi4 for
//                                   prefill attention
//   latency  (its performance preset): as balanced, FF1/FF3 (gate, up) in bfloat4_b with LoFi
//   memory:                          as latency, FF2 (down) in bfloat4_b too, and
//                                   activations kept in DRAM rather than L1
// On cpu: bf16 weights under balanced, bfloat8_b under latency, bfloat4_b MLP weights
// under memory; activations fp32 row-major; the KV cache bf16.
#pragma once

#include <cstdint>
#include <string>

#include "ttt/device.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/op_config.hpp"

namespace ttt {

TTT_ENUM(OpKind, matmul, sdpa, rms_norm, rotary, kv_cache, embedding, eltwise, create_heads, concat_heads,
         typecast, all_gather, all_reduce)
// tt-transformers' tensor groups; they carry the precision choices.
TTT_ENUM(TensorGroup, WQKV, WO, FF1_FF3, FF2, KV_CACHE, ACTIVATION, EMBEDDING, LM_HEAD, NORM)

// What a default needs to know about one op.
struct OpShape {
  OpKind kind = OpKind::eltwise;
  TensorGroup group = TensorGroup::ACTIVATION;
  int64_t m = 1;        // matmul: output rows (batch x seq, or users in decode)
  int64_t k = 1;        // matmul: reduction depth
  int64_t n = 1;        // matmul: output columns; norms/eltwise: row width
  int64_t heads = 1;    // attention: query heads
  int64_t kv_heads = 1;
  int64_t head_dim = 1;
  int64_t seq = 1;      // attention: query length (prefill) or 1 (decode)
  int64_t kv_seq = 1;   // attention: keys attended (cache length)
  int64_t batch = 1;
  // Tensor parallel: how the module splits this op over the device's chips. The fields
  // above then describe one chip's share (its heads, its columns or rows).
  ChipSplit split = ChipSplit::REPLICATED;
  int chips = 1;  // chips sharing the op's work (1: replicated or single chip)
};

// Stage 3: the device's generic default for an op of this kind (no shape knowledge
// beyond what validation needs).
OpConfig device_default_config(const std::string& op_name, const OpShape& shape, Mode mode, const DeviceSpec& device);

// Stage 2: the module default for this device, mode and target, computed from shapes.
// `rule` receives a one-line reason for each choice (shown by `ttt config show`).
OpConfig module_default_config(const std::string& op_name, const OpShape& shape, Mode mode, OptimizationTarget target,
                               const DeviceSpec& device, std::string* rule = nullptr);

// Intent-level settings (the seed's declarative form), resolved through one table per
// device family: precision high|medium|low, memory L1|DRAM.
TTT_ENUM(Precision, high, medium, low)
void apply_precision_intent(OpConfig& cfg, Precision p, const OpShape& shape, Mode mode, const DeviceSpec& device);
void apply_memory_intent(OpConfig& cfg, BufferType where, const OpShape& shape, const DeviceSpec& device);

// tt-transformers' matmul rules of thumb, exposed for tests and the tuner.
Matmul2DConfig matmul_2d_config(int64_t m, int64_t k, int64_t n, CoreGrid grid, bool fp32_acc);
Matmul1DConfig matmul_1d_config(int64_t m, int64_t k, int64_t n, CoreGrid grid);
MatmulDramShardedConfig matmul_dram_sharded_config(int64_t m, int64_t k, int64_t n, int cores, bool fp32_acc);

}  // namespace ttt
