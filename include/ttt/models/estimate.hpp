// Estimates of a model on a device from the cost model alone (`ttt estimate`): time per
// op and per layer for prefill and decode, time to first token, decode tokens/s per
// user, the bottleneck op and whether it is compute- or bandwidth-bound, and memory per
// chip. The module tree is built from the spec: no weights are read.
//
// The time of a mode is the sum of the costs of the root's ops for that mode
// (Module::all_ops): each ResolvedOp's cost is one chip's device time and chips run in
// parallel, so the sum is the step's time on a multi-chip device too. A layer's time is
// the sum over the ops whose path starts with "layers.N.".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ttt/cost_model.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/modules/memory_plan.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

class Module;

struct EstimateOptions {
  int64_t batch = 1;         // users: prefill batch and decode batch
  int64_t prompt_len = 128;  // tokens prefilled per user
  // Tokens decoded after the prompt. Decode is estimated at the last of them: attention
  // reads a KV cache of prompt_len + gen_len positions, rounded up to a tile (32).
  int64_t gen_len = 200;
};

// One op of every layer ("layers.*.mlp.ff2_matmul") or an op outside the layers.
struct OpEstimate {
  std::string path;   // with the layer index replaced by "*"
  int64_t calls = 0;  // per step (layers for a layer op, else 1)
  Cost cost;          // summed over the calls
  double time_s() const { return cost.total_s(); }
};

struct ModeEstimate {
  Mode mode = Mode::decode;
  int64_t ops = 0;                // ops per step
  double step_s = 0;              // sum of the ops' times
  Cost total;                     // their terms summed (compute, DRAM, L1, collective, dispatch)
  std::vector<OpEstimate> by_op;  // in forward order
  std::vector<double> layer_s;    // time of layers.0, layers.1, ...
  OpEstimate bottleneck;          // the op with the most time per step
  // Time of the step's ops by what bounds each (an op counts whole under its bound).
  std::map<CostBound, double> by_bound;
};

// "compute-bound", "bandwidth-bound (DRAM)", "bandwidth-bound (L1)", "collective-bound",
// "dispatch-bound".
std::string bound_str(CostBound b);

struct ModelEstimate {
  std::string model;
  std::string device;
  int chips = 1;
  // Some op's work is split over the chips (its config's sharding is COLUMN or ROW);
  // false on one chip, or when every chip runs the whole model (replicated).
  bool tensor_parallel = false;
  OptimizationTarget target = OptimizationTarget::balanced;
  int64_t num_layers = 0;
  ModuleShapes shapes;  // prefill batch x prompt, decode users x cache length
  ModeEstimate prefill, decode;
  double ttft_s = 0;             // the prefill step (the first token comes from its LM head)
  double decode_tok_s_user = 0;  // 1 / decode step
  double decode_tok_s = 0;       // users / decode step
  MemoryPlan memory;
  std::string json() const;
};

// The estimate of a built tree, at its resolved shapes (the hardware config's, or
// those of resolve_configs / compile).
ModeEstimate estimate_mode(const Module& root, Mode mode);

// Builds the tree from `spec` on hw.device (no weights) with the shapes of `options` and
// estimates it. Throws what construction throws (an invalid config, a model that does
// not fit one chip's DRAM).
ModelEstimate estimate_model(const TransformerSpec& spec, ModuleHardwareConfig hw, const EstimateOptions& options = {});

}  // namespace ttt
