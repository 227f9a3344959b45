// The collective that joins the per-chip outputs of a split module into the replicated
// module output: an all_reduce of partial sums (attention's out_matmul, the MLP's
// ff2_matmul: ROW splits) or an all_gather of column slices (the LM head's vocabulary).
// Compile reserves one output per chip; run() allocates nothing.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ops/ccl/ccl.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/modules/module.hpp"

namespace ttt {

class ChipJoin {
 public:
  // `parts`: each chip's output spec (their names are the buffers to join); the outputs
  // are named `out_name` + chip suffix. One part: nothing to join (inactive).
  void plan(OpKind kind, std::vector<TensorSpec> parts, const OpConfig& config, const std::string& out_name);
  // The same for `ways` chips whose parts are `chip0` renamed `part_name` + chip suffix
  // (every chip's part has chip 0's shape and format). One way: inactive.
  void plan(OpKind kind, const TensorSpec& chip0, const std::string& part_name, int ways, const OpConfig& config,
            const std::string& out_name);
  bool active() const { return parts_.size() > 1; }
  const TensorSpec& output() const { return outputs_.front(); }

  void validate(const DeviceSpec& device) const;
  Cost cost(const DeviceSpec& device) const;
  void reserve(ActivationArena& arena) const;
  // Binds the chips' parts (the buffers named by the parts' specs) and the outputs.
  void bind(ActivationArena& arena);
  // Joins the bound parts; returns chip 0's output.
  Tensor& run(ops::ExecContext& ctx);
  // Joins views of the parts (a shorter prompt than compiled); returns chip 0's output
  // viewed at the matching shape.
  Tensor& run_views(std::span<const Tensor> parts, ops::ExecContext& ctx);

 private:
  OpKind kind_ = OpKind::all_reduce;
  OpConfig config_;
  std::vector<TensorSpec> parts_, outputs_;
  ops::AllReduceArgs reduce_args_;
  ops::AllGatherArgs gather_args_;
  std::vector<Tensor> t_parts_, t_outputs_;
  Tensor view_;
};

}  // namespace ttt
