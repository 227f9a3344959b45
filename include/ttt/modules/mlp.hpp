// MLP: SwiGLU feed-forward, down(silu(gate(x)) * up(x)), or plain down(act(up(x))).
// Ops: ff1_matmul (gate), ff3_matmul (up), swiglu_mul, ff2_matmul (down); on a multi-chip
// device split over the chips' intermediate columns, then all_reduce (tensor_parallel.hpp).
#pragma once

#include <memory>
#include <vector>

#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

namespace ops {
struct MatmulArgs;
struct BinaryArgs;
struct ExecContext;
}  // namespace ops
class ChipJoin;

class MLP : public Module {
 public:
  // `reference` holds gate_proj.weight, up_proj.weight, down_proj.weight ([out, in]).
  MLP(MLPSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
      std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "mlp",
      WeightLoader loader = nullptr);
  ~MLP() override;

  const MLPSpec& spec() const { return spec_; }
  // x: [batch, seq, hidden] (prefill) or [1, batch, hidden] (decode); the result lives
  // in this module's buffer until the next call.
  Tensor& forward_prefill(const Tensor& x);
  Tensor& forward_decode(const Tensor& x);

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  struct Compiled;
  struct ChipWeights {
    Tensor w1, w3, w2;  // [hidden, inter], [hidden, inter], [inter, hidden] (a chip's share)
  };
  // Chips the intermediate columns split over (the ff1_matmul config decides).
  int ways() const;
  Plan make_plan(Mode mode, int64_t rows_batch, int64_t rows_seq, int chip, int ways) const;
  ChipJoin make_join(Mode mode, const Plan& chip0, int ways) const;
  Compiled& state(Mode mode);
  Tensor& run_chip(Mode mode, Plan& p, const Tensor& x, const ChipWeights& w, ops::ExecContext& ctx);
  Tensor& forward(Mode mode, const Tensor& x);

  MLPSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  std::vector<ChipWeights> chips_;  // one per chip the columns split over
  std::unique_ptr<Compiled> state_[2];
};

}  // namespace ttt
